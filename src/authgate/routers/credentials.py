"""Log-in and sign-up as the routes share them: under the same abuse limits, counted and
audited alike, and a log-in's session stored and answered alike."""

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request, Response
from sqlalchemy import Connection

from authgate.accounts import service
from authgate.accounts.errors import LoginRefused
from authgate.accounts.policy import username_key
from authgate.accounts.schemas import UserCreate, UserRead
from authgate.accounts.snapshot import AuthUser
from authgate.audit.events import EventType
from authgate.browser.schemas import LoginResult
from authgate.errors import RateLimited
from authgate.handlers import language_of
from authgate.i18n import translate
from authgate.mfa import challenge
from authgate.mfa.errors import MfaRequired
from authgate.openapi import NEW_PASSWORD_422
from authgate.recovery.dependencies import verification_step
from authgate.sessions.dependencies import event_context
from authgate.sessions.opening import SessionOpening
from authgate.sessions.schemas import TokenLogin
from authgate.sessions.tokens import TokenSessionOpening
from authgate.sessions.transport import set_session_cookies

# The errors of a sign-up: a name or address already taken, a password the policy refuses.
SIGNUP_CODES = {400: ["username_taken", "email_taken"], 422: list(NEW_PASSWORD_422)}
# A name as typed is kept in a failed log-in's event; anything longer than a name can be is cut.
TYPED_NAME_MAX = 150
Opening = TypeVar("Opening", bound=SessionOpening)


async def log_in_request(
    request: Request, username: str, password: str, *, kind: str,
    new_session: Callable[[int], Opening],
) -> tuple[AuthUser, Opening]:  # fmt: skip
    """Check credentials under the log-in limits that the three log-in routes share, then, in
    one unit of work, open the session that `new_session(user_id)` describes.

    With a second factor on, the password step ends there instead: 401 `mfa_required` with an
    `mfa_token` for `POST /account/login/mfa`, which finishes the log-in as `kind`
    (`cookie`, `token` or `oauth2`: the route the password came through).
    """
    state = request.app.state
    ip = state.clients.client_ip(request)
    try:
        async with state.limits.login_attempt(username_key(username), ip):
            user = await service.authenticate(state.db, state.hasher, username, password)
    except LoginRefused as exc:
        # Nothing changed, so no transaction carries the event: it is queued, written soon.
        state.metrics.login("failed")
        state.audit.later(
            EventType.LOGIN_FAILED, event_context(request), user_id=exc.user_id,
            username=username[:TYPED_NAME_MAX], reason=exc.reason,
        )  # fmt: skip
        raise
    except RateLimited:
        state.metrics.login("rate_limited")
        state.audit.later(
            EventType.RATE_LIMITED, event_context(request),
            limit="login", username=username[:TYPED_NAME_MAX],
        )  # fmt: skip
        raise
    state.metrics.login("succeeded")
    opening = new_session(user.id)
    now, lifetime = state.clock(), state.settings.mfa_challenge_lifetime
    token = await state.db.write(
        challenge.challenge_or_open(opening.insert, user.id, kind, now, lifetime)
    )
    if token is not None:
        raise MfaRequired(token)
    return user, opening


def store_session(
    opening: SessionOpening, connection: Connection, user_id: int, amr: str | None = None
) -> Any:
    """A log-in's last step, in the unit that spends its proof (a second factor's code, a
    passkey's count): `opening` stored for `user_id`; for cookies, the user's row too, which
    the answer shows."""
    opening.insert_for(connection, user_id, amr)
    if isinstance(opening, TokenSessionOpening):
        return None
    return service.get_user(connection, user_id)


def logged_in(
    request: Request, response: Response, opening: SessionOpening, user: Any
) -> LoginResult | TokenLogin:
    """The answer to a finished log-in: the session's cookies and the user (`user`, from
    `store_session`), or the token pair."""
    message = translate("login_success", language_of(request))
    if not isinstance(opening, TokenSessionOpening):
        set_session_cookies(response, request, opening.secret)
        return LoginResult(message=message, user=UserRead.model_validate(AuthUser.of(user)))
    pair = opening.pair(request.app.state.tokens)
    return TokenLogin(
        message=message, access=pair.access, refresh=pair.refresh or "", expires_in=pair.expires_in
    )


async def register_request(
    request: Request, data: UserCreate, *, opening: SessionOpening | None = None
) -> AuthUser:
    """Register under the sign-up limit that both sign-up routes share. In the same unit of
    work: with `opening` (made for no user yet), the new user's session opens; with an
    address, its verification mail is queued."""
    state = request.app.state
    context = event_context(request)
    try:
        await state.limits.hit_signup(context.ip or "")
    except RateLimited:
        state.audit.later(EventType.RATE_LIMITED, context, limit="signup")
        raise
    mail = verification_step(request, data.username, data.email)

    def then(connection: Connection, user_id: int) -> None:
        if opening is not None:
            opening.insert_for(connection, user_id)
        if mail is not None:
            mail(connection, user_id)

    return await service.register(
        state.db, state.hasher, data, min_length=state.settings.password_min_length,
        context=context, then=then,
    )  # fmt: skip
