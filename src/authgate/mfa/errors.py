"""Refusals of the second-factor domain."""

from authgate.errors import AppError, InvalidCredentials


class MfaRequired(AppError):
    """The password was right; a second factor must finish the log-in with `mfa_token`."""

    status, code = 401, "mfa_required"

    def __init__(self, mfa_token: str) -> None:
        super().__init__()
        self.extra = {"mfa_token": mfa_token}


class MfaCodeRejected(InvalidCredentials):
    """A wrong, reused or expired code (or challenge) at log-in: counts as a failed log-in.

    For the audit trail: why, whose challenge it was (None when unknown), which factor, and
    whether the unit that refused it recorded the failure already (it did when it changed
    something: a challenge's count of wrong codes)."""

    def __init__(
        self, reason: str = "wrong_code", user_id: int | None = None, method: str = "totp",
        *, recorded: bool = False,
    ) -> None:  # fmt: skip
        super().__init__("mfa_code_invalid")
        self.reason, self.user_id, self.method, self.recorded = reason, user_id, method, recorded


class MfaCodeInvalid(AppError):
    """A wrong code while setting up a factor (the caller is already logged in)."""

    status, code = 400, "mfa_code_invalid"


class MfaAlreadyEnabled(AppError):
    status, code = 409, "mfa_already_enabled"


class MfaNotEnabled(AppError):
    status, code = 400, "mfa_not_enabled"
