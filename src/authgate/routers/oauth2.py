"""Standard OAuth2 for clients that speak it: the token endpoint, revocation and metadata.

RFC 6749 clients (authlib, requests-oauthlib, AppAuth...) read failures of the token endpoint
as `{"error", "error_description"}`: every answer of `/account/token` and `/account/revoke`
has that shape, malformed forms (400 `invalid_request`, never our 422) and 429s included,
with our own `code` and `detail` beside it.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from authgate.bodies import parse_body
from authgate.errors import AppError
from authgate.handlers import language_of
from authgate.mfa.errors import MfaRequired
from authgate.openapi import form_body, responses
from authgate.routers.tokens import log_in, token_lifetimes
from authgate.routing import LeanRoute
from authgate.sessions import rotation, tokens
from authgate.sessions.dependencies import event_context
from authgate.sessions.schemas import (
    GRANT_TYPES,
    AuthorizationServerMetadata,
    GrantRefused,
    OAuth2Token,
    OAuth2TokenRequest,
    RevokeRefused,
    RevokeRequest,
    SecondFactorRequired,
    TemporarilyUnavailable,
    Verified,
)

router = APIRouter(
    prefix="/account", tags=["oauth2"], responses=responses(413), route_class=LeanRoute
)
metadata_router = APIRouter(tags=["oauth2"], responses=responses(413), route_class=LeanRoute)
OAUTH2_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": GrantRefused,
        "description": "RFC 6749 error: the grant failed or was malformed",
    },
    401: {
        "model": SecondFactorRequired,
        "description": "`mfa_required`, with an `mfa_token` for `POST /account/login/mfa`",
    },
    429: {"model": TemporarilyUnavailable, "description": "`rate_limited`, with `Retry-After`"},
    503: {"model": TemporarilyUnavailable, "description": "The database is unreachable"},
}
# Statuses kept as they are; every other failure of a grant is RFC 6749's 400.
KEPT_STATUSES = {429: "temporarily_unavailable", 503: "temporarily_unavailable"}


class InvalidRequest(AppError):
    code = "validation_error"


class UnsupportedGrantType(AppError):
    code = "unsupported_grant_type"


@router.post(
    "/token",
    response_model=OAuth2Token,
    response_model_exclude_none=True,
    openapi_extra=form_body(OAuth2TokenRequest),
    responses=OAUTH2_ERRORS,
)
async def token(request: Request) -> Any:
    """OAuth2 token endpoint (RFC 6749): `password` and `refresh_token` grants (form body)."""
    return await _answer(request, lambda: _grant(request))


async def _grant(request: Request) -> OAuth2Token:
    data = await parse_body(request, OAuth2TokenRequest)
    if data.grant_type == "password":
        if not data.username or not data.password:
            raise InvalidRequest()
        pair = await log_in(request, data.username, data.password, kind="oauth2")
    elif data.grant_type == "refresh_token":
        if not data.refresh_token:
            raise InvalidRequest()
        state = request.app.state
        pair = await rotation.refresh_tokens(
            state.db, state.tokens, data.refresh_token, token_lifetimes(state.settings),
            state.clock(), lambda: event_context(request),
        )  # fmt: skip
    else:
        raise UnsupportedGrantType()
    return OAuth2Token(
        access_token=pair.access, refresh_token=pair.refresh, expires_in=pair.expires_in
    )


@router.post(
    "/revoke",
    response_model=Verified,
    openapi_extra=form_body(RevokeRequest),
    responses={400: {"model": RevokeRefused, "description": "RFC 6749 error: not a request"}},
)
async def revoke(request: Request) -> Any:
    """Revoke a refresh or access token (RFC 7009): its session ends; `{}` whatever the token."""

    async def work() -> Verified:
        data = await parse_body(request, RevokeRequest)
        state = request.app.state
        await tokens.revoke(state.db, state.tokens, data.token, state.clock())
        return Verified()

    return await _answer(request, work)


async def _answer(request: Request, work: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await work()
    except RequestValidationError:
        return _oauth2_error(request, "invalid_request", InvalidRequest())
    except InvalidRequest as exc:
        return _oauth2_error(request, "invalid_request", exc)
    except UnsupportedGrantType as exc:
        return _oauth2_error(request, "unsupported_grant_type", exc)
    except MfaRequired as exc:
        return _oauth2_error(request, "mfa_required", exc, status=401)
    except AppError as exc:
        if exc.code == "unsupported_media_type":
            return _oauth2_error(request, "invalid_request", exc)
        return _oauth2_error(request, KEPT_STATUSES.get(exc.status, "invalid_grant"), exc)


def _oauth2_error(
    request: Request, error: str, exc: AppError, *, status: int | None = None
) -> JSONResponse:
    detail = exc.detail(language_of(request))
    body = {"error": error, "error_description": detail, "detail": detail, "code": exc.code}
    body.update(exc.extra)
    status = status or (exc.status if exc.status in KEPT_STATUSES else 400)
    return JSONResponse(body, status_code=status, headers=exc.headers)


@metadata_router.get(
    "/.well-known/oauth-authorization-server", response_model=AuthorizationServerMetadata
)
async def authorization_server_metadata(request: Request) -> AuthorizationServerMetadata:
    """Authorization server metadata (RFC 8414): where the token and revocation endpoints are."""
    base = str(request.base_url).rstrip("/")
    return AuthorizationServerMetadata(
        issuer=base,
        token_endpoint=f"{base}/account/token",
        revocation_endpoint=f"{base}/account/revoke",
        jwks_uri=f"{base}/.well-known/jwks.json",
        grant_types_supported=GRANT_TYPES,
        token_endpoint_auth_methods_supported=["none"],
        revocation_endpoint_auth_methods_supported=["none"],
        response_types_supported=[],
    )
