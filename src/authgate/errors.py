"""Failures a client can act on: an HTTP status, a stable code and a localised detail.

Services raise these; they know nothing of HTTP frameworks. `authgate.handlers` turns them,
and every other failure, into the one error envelope `{"detail", "code"}`.
"""

from typing import Any, ClassVar

from authgate.i18n import translate


class AppError(Exception):
    """A failure the client can act on: an HTTP status, a stable code and a localised detail."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "validation_error"

    def __init__(
        self, message_key: str | None = None, headers: dict[str, str] | None = None, **params: Any
    ) -> None:
        super().__init__(message_key or self.code)
        self.message_key = message_key or self.code
        self.headers = headers
        self.params = params
        # More fields of the error body (e.g. the `mfa_token` of `mfa_required`).
        self.extra: dict[str, Any] = {}

    def detail(self, language: str) -> str:
        return translate(self.message_key, language, **self.params)


class NotAuthenticated(AppError):
    status, code = 401, "not_authenticated"


class InvalidCredentials(AppError):
    status, code = 401, "invalid_credentials"


class TokenInvalid(AppError):
    status, code = 401, "token_invalid"


class TokenExpired(AppError):
    status, code = 401, "token_expired"


class TokenRevoked(AppError):
    status, code = 401, "token_revoked"


class TokenReused(AppError):
    status, code = 401, "token_reused"


class ReauthenticationRequired(AppError):
    """A sensitive change needs a recent proof of identity on this session."""

    status, code = 401, "reauthentication_required"


class MfaEnrollmentRequired(AppError):
    """Mandatory MFA: a session proven by a password alone may only set up a second factor
    (and step up with it) until then."""

    status, code = 403, "mfa_enrollment_required"


class CsrfFailed(AppError):
    status, code = 403, "csrf_failed"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class PreconditionFailed(AppError):
    status, code = 412, "precondition_failed"


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"


class RateLimited(AppError):
    status, code = 429, "rate_limited"


class ServiceUnavailable(AppError):
    status, code = 503, "service_unavailable"
