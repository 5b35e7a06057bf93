"""`current_session`, `current_user` and `current_admin`: one way in for Bearer and cookie alike."""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.datastructures import State

from authgate.accounts.snapshot import AuthUser
from authgate.audit.events import EventContext
from authgate.errors import (
    AppError,
    CsrfFailed,
    Forbidden,
    MfaEnrollmentRequired,
    NotAuthenticated,
    ReauthenticationRequired,
    TokenExpired,
    TokenInvalid,
    TokenRevoked,
)
from authgate.middleware.headers import USER_ID
from authgate.security.csrf import CSRF_HEADER, UNSAFE_METHODS, is_valid
from authgate.sessions import transport
from authgate.sessions.service import deadline, extend_session, hash_secret
from authgate.sessions.store import SessionState
from authgate.sessions.tokens import check_access
from authgate.sessions.transport import csrf_cookie, queue_session_cookies, session_cookie

# What `secrets.token_urlsafe(32)` makes: the only cookie values this service sets.
SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, through which session, and how they proved it."""

    user: AuthUser
    session: SessionState
    via: Literal["bearer", "cookie"]


# Documents Bearer auth in OpenAPI so that the Authorize button of /docs logs in through
# /account/token. Only documentation: `authgate.openapi.document_security` marks every route
# guarded below with it. As a sub-dependency it would cost FastAPI one more resolution pass
# on every request, for a value nobody reads (the checks are ours, below).
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="account/token", auto_error=False)
# The caller's principal, once found, for the rest of the request (what FastAPI's dependency
# cache did when the guards below depended on each other: a route may ask for several).
PRINCIPAL = "authgate.principal"


async def optional_session(request: Request) -> Principal | None:
    """The caller's live session, None when no credentials were sent; bad ones raise."""
    state = request.scope.setdefault("state", {})
    if PRINCIPAL not in state:
        state[PRINCIPAL] = principal = await _authenticate(request)
        if principal is not None:
            state[USER_ID] = principal.user.id  # for the request's log line
    return state[PRINCIPAL]


def event_context(request: Request) -> EventContext:
    """Where a change comes from, for its audit event: this request, and who is calling
    (when a guard above has found out)."""
    app_state, state = request.app.state, request.scope.get("state") or {}
    principal = state.get(PRINCIPAL)
    return EventContext(
        at=app_state.clock(),
        ip=app_state.clients.client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        request_id=state.get("request_id", ""),
        actor_id=principal.user.id if principal else None,
        session_id=principal.session.id if principal else None,
    )


# The guards below take the request and call optional_session themselves rather than depend
# on it: each level of nested dependencies costs FastAPI a resolution pass on every request
# of every protected route.
async def enrolling_session(request: Request) -> Principal:
    """The caller's session, even one that mandatory MFA confines to enrolling a second
    factor: for the routes that enrol, step up, show the account or log out."""
    principal = await optional_session(request)
    if principal is None:
        raise NotAuthenticated(headers={"WWW-Authenticate": "Bearer"})
    return principal


def is_enrolling(request: Request, principal: Principal) -> bool:
    """Mandatory MFA (ASVS 6.3.3): whether this session was proven by no second factor (its
    amr has no "mfa": a password alone), so that it may only enrol one and step up with it."""
    return request.app.state.settings.mfa_required and "mfa" not in principal.session.amr


async def current_session(request: Request) -> Principal:
    principal = await enrolling_session(request)
    if is_enrolling(request, principal):
        raise MfaEnrollmentRequired()
    return principal


async def recent_session(request: Request) -> Principal:
    """The caller's session, if they proved who they are on it within the re-auth window."""
    principal = await current_session(request)
    ensure_recent(request, principal)
    return principal


async def recent_enrolling_session(request: Request) -> Principal:
    """`recent_session` for the routes that enrol a second factor (see `enrolling_session`)."""
    principal = await enrolling_session(request)
    ensure_recent(request, principal)
    return principal


def ensure_recent(request: Request, principal: Principal) -> None:
    """Step-up: refuse a sensitive change on a session whose last proof of identity is old.

    A session left open on a shared computer, or a stolen cookie or token, must not be
    enough to change the e-mail (and then reset the password), turn the second factor off
    or delete the account: POST /account/reauthenticate first.
    """
    state = request.app.state
    age = (state.clock() - principal.session.auth_time).total_seconds()
    if age > state.settings.reauth_window:
        raise ReauthenticationRequired()


async def current_user(request: Request) -> AuthUser:
    return (await current_session(request)).user


async def enrolling_user(request: Request) -> AuthUser:
    return (await enrolling_session(request)).user


async def admin_session(request: Request) -> Principal:
    principal = await current_session(request)
    if not principal.user.is_admin:
        raise Forbidden()
    return principal


async def current_admin(request: Request) -> AuthUser:
    return (await admin_session(request)).user


# Every dependency above: a route that uses one is documented as taking a Bearer token.
GUARDS = (
    optional_session, enrolling_session, current_session, recent_session,
    recent_enrolling_session, current_user, enrolling_user, admin_session, current_admin,
)  # fmt: skip


# The guards a session confined by mandatory MFA to enrolling a second factor does not pass
# (403 `mfa_enrollment_required`).
CONFINING_GUARDS = (current_session, recent_session, current_user, admin_session, current_admin)


async def _authenticate(request: Request) -> Principal | None:
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer":
            return await _bearer(request, token.strip())
    secret = session_cookie(request)
    if secret:
        return await _cookie(request, secret)
    return None


async def _bearer(request: Request, token: str) -> Principal:
    state = request.app.state
    try:
        session = await check_access(state.tokens, state.sessions, token, state.clock())
    except AppError as exc:
        exc.headers = BEARER_CHALLENGE
        raise
    return Principal(session.user, session, "bearer")


async def _cookie(request: Request, secret: str) -> Principal:
    if not SECRET_SHAPE.fullmatch(secret):
        # Not something this service ever set: invalid, not a session that ended.
        raise TokenInvalid()
    state = request.app.state
    now = state.clock()
    session = await _live(state, await state.sessions.by_secret_hash(hash_secret(secret)), now)
    if request.method in UNSAFE_METHODS and not is_valid(
        state.secret_key, secret, csrf_cookie(request), request.headers.get(CSRF_HEADER)
    ):
        raise CsrfFailed()
    transport.queue_csrf_header(request, secret)
    await _renew(request, session, secret, now)
    return Principal(session.user, session, "cookie")


async def _live(state: State, session: SessionState | None, now: datetime) -> SessionState:
    if session is not None and session.ended_at is None and session.expires_at <= now:
        # Another worker may have slid the expiry forward since we cached this state.
        session = await state.sessions.by_id(session.id, fresh=True)
    if session is None or session.ended_at is not None or not session.user.is_active:
        raise TokenRevoked()
    if session.expires_at <= now:
        raise TokenExpired()
    return session


async def _renew(request: Request, session: SessionState, secret: str, now: datetime) -> None:
    """Sliding expiry: past half of its age, a session's cookie and expiry are renewed, but
    never past the session's absolute deadline."""
    settings = request.app.state.settings
    age = settings.session_cookie_age
    end = deadline(session.created_at, settings.session_absolute_lifetime)
    if (session.expires_at - now).total_seconds() > age / 2 or session.expires_at >= end:
        return
    session.expires_at = await request.app.state.db.write(
        lambda c: extend_session(c, session.id, now, age, not_after=end)
    )
    session.last_seen_at = now
    queue_session_cookies(request, secret, max_age=_seconds_until(session.expires_at, now))


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds()))


CurrentSession = Annotated[Principal, Depends(current_session)]
CurrentUser = Annotated[AuthUser, Depends(current_user)]
CurrentAdmin = Annotated[AuthUser, Depends(current_admin)]
AdminSession = Annotated[Principal, Depends(admin_session)]
RecentSession = Annotated[Principal, Depends(recent_session)]
# Mandatory MFA lets a session that has yet to enrol a second factor through these only.
EnrollingSession = Annotated[Principal, Depends(enrolling_session)]
EnrollingUser = Annotated[AuthUser, Depends(enrolling_user)]
RecentEnrollingSession = Annotated[Principal, Depends(recent_enrolling_session)]
