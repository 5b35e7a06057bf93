"""/account token routes (log-in, refresh, verify, log-out, sessions) and the JWKS."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from authgate.accounts.schemas import Credentials
from authgate.answers import answer
from authgate.audit.events import EventType
from authgate.bodies import parse_body
from authgate.errors import AppError, NotFound, TokenReused
from authgate.handlers import language_of
from authgate.i18n import translate
from authgate.openapi import GUARD_401, LOGIN_401, form_or_json, responses
from authgate.routers.credentials import log_in_request
from authgate.routing import LeanRoute
from authgate.schemas import Message
from authgate.sessions import rotation, tokens
from authgate.sessions import service as sessions
from authgate.sessions.dependencies import CurrentSession, EnrollingSession, event_context
from authgate.sessions.schemas import (
    RefreshRequest,
    RefreshResult,
    SessionRead,
    TokenLogin,
    Verified,
    VerifyRequest,
)
from authgate.settings import Settings

router = APIRouter(
    prefix="/account", tags=["tokens"], responses=responses(413), route_class=LeanRoute
)
jwks_router = APIRouter(tags=["tokens"], responses=responses(413), route_class=LeanRoute)
# Documented as a UUID but not enforced by FastAPI: a malformed id answers 404, like an unknown one.
# A refresh token's failures: never issued, expired, ended, or already rotated (reuse).
REFRESH_401 = ["token_invalid", "token_expired", "token_revoked", "token_reused"]
# The caller's credential, then the refresh token's; someone else's refresh token is forbidden.
LOGOUT_CODES = {401: {*GUARD_401, *REFRESH_401}, 403: ["csrf_failed", "forbidden"]}
SessionId = Annotated[str, Path(json_schema_extra={"format": "uuid"})]


def token_lifetimes(settings: Settings) -> tokens.Lifetimes:
    return tokens.Lifetimes(
        settings.refresh_token_lifetime,
        settings.rotate_refresh_tokens,
        settings.session_absolute_lifetime,
    )


async def log_in(
    request: Request, username: str, password: str, *, kind: str = "token"
) -> tokens.TokenPair:
    _, opening = await log_in_request(
        request, username, password, kind=kind,
        new_session=lambda user_id: token_opening(request, user_id),
    )  # fmt: skip
    return opening.pair(request.app.state.tokens)


def token_opening(
    request: Request, user_id: int | None, amr: str = "pwd", method: str | None = None
) -> tokens.TokenSessionOpening:
    state = request.app.state
    return tokens.TokenSessionOpening(
        user_id, token_lifetimes(state.settings), now=state.clock(),
        user_agent=request.headers.get("user-agent", ""), ip=state.clients.client_ip(request),
        amr=amr, context=event_context(request), method=method,
    )  # fmt: skip


@router.post(
    "/login",
    response_model=TokenLogin,
    openapi_extra=form_or_json(Credentials),
    responses=responses(401, 413, 415, 422, 429, codes={401: LOGIN_401}),
)
async def login(request: Request) -> Response:
    """Log in with username and password (JSON or form); returns an access and a refresh token."""
    data = await parse_body(request, Credentials)
    pair = await log_in(request, data.username, data.password)
    message = translate("login_success", language_of(request))
    return answer(TokenLogin(
        message=message, access=pair.access, refresh=pair.refresh or "", expires_in=pair.expires_in
    ))  # fmt: skip


@router.post(
    "/refresh",
    response_model=RefreshResult,
    response_model_exclude_none=True,
    openapi_extra=form_or_json(RefreshRequest),
    responses=responses(401, 413, 415, 422, codes={401: REFRESH_401}),
)
async def refresh(request: Request) -> Response:
    """A new access token for a refresh token; with rotation, a new refresh token too."""
    data = await parse_body(request, RefreshRequest)
    state = request.app.state
    try:
        pair = await rotation.refresh_tokens(
            state.db, state.tokens, data.refresh, token_lifetimes(state.settings), state.clock(),
            lambda: event_context(request),
        )  # fmt: skip
    except TokenReused:
        state.metrics.refresh("reused")
        raise
    except AppError:
        state.metrics.refresh("invalid")
        raise
    state.metrics.refresh("rotated")
    return answer(RefreshResult(access=pair.access, refresh=pair.refresh), exclude_none=True)


@router.post(
    "/verify",
    response_model=Verified,
    openapi_extra=form_or_json(VerifyRequest),
    responses=responses(401, 413, 415, 422, codes={401: REFRESH_401}),
)
async def verify(request: Request) -> Verified:
    """Check an access or refresh token without using it: `{}` when it is good."""
    data = await parse_body(request, VerifyRequest)
    state = request.app.state
    if tokens.is_refresh_shaped(data.token):
        await rotation.check_refresh(state.db, data.token, state.clock())
    else:
        await tokens.check_access(state.tokens, state.sessions, data.token, state.clock())
    return Verified()


@router.post(
    "/logout",
    response_model=Message,
    openapi_extra=form_or_json(RefreshRequest),
    responses=responses(401, 403, 413, 415, 422, codes=LOGOUT_CODES),
)
async def logout(request: Request, principal: EnrollingSession) -> Message:
    """End the session of your refresh token: it and your access token stop working at once."""
    data = await parse_body(request, RefreshRequest)
    state = request.app.state
    await tokens.logout(
        state.db, data.refresh, principal.user.id, principal.session.id, state.clock(),
        event_context(request),
    )  # fmt: skip
    return Message(message=translate("logout_success", language_of(request)))


@router.post("/logout-all", response_model=Message, responses=responses(401, 403))
async def logout_all(request: Request, principal: EnrollingSession) -> Message:
    """End every session of your account, on every device, this one included."""
    state = request.app.state
    user_id, now, context = principal.user.id, state.clock(), event_context(request)
    await state.db.write(
        lambda c: sessions.end_user_sessions(
            c, user_id, now, context, type=EventType.LOGOUT, reason="logout_all"
        )
    )
    return Message(message=translate("logout_all_success", language_of(request)))


@router.get("/sessions", response_model=list[SessionRead], responses=responses(401))
async def list_sessions(request: Request, principal: CurrentSession) -> list[SessionRead]:
    """Your live sessions, newest first; `current` marks the one making this request."""
    user_id, now = principal.user.id, request.app.state.clock()
    found = await request.app.state.db.read(lambda c: sessions.live_sessions(c, user_id, now))
    current = principal.session.id
    return [SessionRead.of(session, current=session.id == current) for session in found]


@router.delete("/sessions/{session_id}", status_code=204, responses=responses(401, 403, 404, 422))
async def end_session(
    session_id: SessionId, request: Request, principal: CurrentSession
) -> Response:
    """End one of your sessions (log a device out); someone else's or an unknown id is 404."""
    try:
        wanted = uuid.UUID(session_id)
    except ValueError:
        raise NotFound() from None
    user_id, now, context = principal.user.id, request.app.state.clock(), event_context(request)
    if not await request.app.state.db.write(
        lambda c: sessions.end_own_session(c, user_id, wanted, now, context)
    ):
        raise NotFound()
    return Response(status_code=204)


@jwks_router.get("/.well-known/jwks.json")
async def jwks(request: Request, response: Response) -> dict[str, Any]:
    """The public keys that verify access tokens, by `kid` (empty with HS256)."""
    # Short-lived in caches: after `authgate keys rotate` a new kid signs at once.
    response.headers["Cache-Control"] = "public, max-age=60"
    return request.app.state.tokens.jwks()
