"""/account routes about the user: create the account, read and edit it, password, deletion."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from authgate.accounts import service as accounts
from authgate.accounts.policy import username_key
from authgate.accounts.schemas import PasswordChange, UserCreate, UserRead, UserUpdate
from authgate.answers import answer
from authgate.audit import service as audit
from authgate.audit.events import EventType
from authgate.audit.schemas import EventList, EventRead
from authgate.bodies import JSON_ONLY, parse_body
from authgate.errors import RateLimited
from authgate.handlers import language_of
from authgate.i18n import translate
from authgate.openapi import CURSOR_HELP, NEW_PASSWORD_422, RECENT_401, form_or_json, responses
from authgate.passkeys import assertion as passkeys
from authgate.recovery.dependencies import verification_step
from authgate.routers.credentials import SIGNUP_CODES, register_request
from authgate.routers.handover import hand_over, next_session
from authgate.routing import LeanRoute
from authgate.sessions import password, stepup
from authgate.sessions import service as sessions
from authgate.sessions.dependencies import (
    CurrentSession,
    CurrentUser,
    EnrollingSession,
    RecentSession,
    enrolling_user,
    ensure_recent,
    event_context,
)
from authgate.sessions.schemas import PasswordChanged, Reauthenticated, ReauthRequest

router = APIRouter(
    prefix="/account", tags=["accounts"], responses=responses(413), route_class=LeanRoute
)
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def read_me(request: Request) -> Response:
    """Your own account."""
    return answer(UserRead.model_validate(await enrolling_user(request)))


# GET /me calls the guard rather than depending on it (no dependency for FastAPI to resolve)
# and answers with `answer`; `app.py` documents it as guarded. Under mandatory MFA a session
# that has yet to enrol a second factor may read it too.
router.add_api_route(
    "/me", read_me, methods=["GET"], name="read_me", response_model=UserRead,
    responses=responses(401),
)  # fmt: skip


@router.post(
    "/create-account",
    status_code=201,
    response_model=UserRead,
    openapi_extra=form_or_json(UserCreate),
    responses=responses(400, 413, 415, 422, 429, codes=SIGNUP_CODES),
)
async def create_account(request: Request) -> UserRead:
    """Create an account; log in next with /account/login. The password is never returned."""
    user = await register_request(request, await parse_body(request, UserCreate))
    return UserRead.model_validate(user)


@router.patch(
    "/me",
    response_model=UserRead,
    responses=responses(400, 401, 403, 415, 422, codes={400: ["email_taken"], 401: RECENT_401}),
    dependencies=JSON_ONLY,
)
async def update_me(data: UserUpdate, request: Request, principal: CurrentSession) -> UserRead:
    """Change your e-mail address (needs a recent authentication) or names; a new e-mail
    address is not verified yet."""
    if "email" in data.model_fields_set:
        ensure_recent(request, principal)
    user = principal.user
    mail = verification_step(request, user.username, data.email)
    updated = await request.app.state.db.write(
        lambda connection: accounts.update_profile(connection, user.id, data, mail)
    )
    return UserRead.model_validate(updated)


@router.post(
    "/change-password",
    response_model=PasswordChanged,
    response_model_exclude_none=True,
    responses=responses(
        400, 401, 403, 415, 422, codes={400: ["invalid_credentials"], 422: NEW_PASSWORD_422}
    ),
    dependencies=JSON_ONLY,
)
async def change_password(
    data: PasswordChange, request: Request, response: Response, principal: CurrentSession
) -> PasswordChanged:
    """Change your password; every session ends and yours is replaced: new tokens in the
    answer (token sessions) or new cookies (cookie sessions)."""
    state = request.app.state
    replaced = await password.change_password(
        state.db, state.hasher, state.tokens, principal.session, data.old_password,
        data.new_password, now=state.clock(), min_length=state.settings.password_min_length,
        opening=next_session(request), context=event_context(request),
    )  # fmt: skip
    message = translate("password_changed", language_of(request))
    return PasswordChanged(message=message, **hand_over(replaced, request, response))


@router.delete(
    "/delete-account/{user_id}",
    status_code=204,
    responses=responses(
        401, 403, 404, 422, codes={401: RECENT_401, 403: ["csrf_failed", "forbidden"]}
    ),
)
async def delete_account(user_id: UserId, request: Request, principal: RecentSession) -> Response:
    """Delete an account (yours, or any as admin) with its sessions and items; needs a recent
    authentication."""
    actor, now, context = principal.user, request.app.state.clock(), event_context(request)
    await request.app.state.db.write(
        lambda c: sessions.delete_account(c, actor, user_id, now, context)
    )
    return Response(status_code=204)


@router.post(
    "/reauthenticate",
    response_model=Reauthenticated,
    response_model_exclude_none=True,
    # A passkey's answer is an object: JSON only.
    openapi_extra=form_or_json(ReauthRequest, json_only=("passkey",)),
    responses=responses(400, 401, 403, 413, 415, 422, 429, codes={400: ["invalid_credentials"]}),
)
async def reauthenticate(
    request: Request, response: Response, principal: EnrollingSession
) -> Reauthenticated:
    """Prove it is you again (password, TOTP code, recovery code or passkey) before a sensitive
    change: your session is replaced by a new one (new tokens in the answer, or new cookies)."""
    data = await parse_body(request, ReauthRequest)
    state = request.app.state
    now, ip, context = state.clock(), state.clients.client_ip(request), event_context(request)
    try:
        # Wrong guesses count against the account's log-in limit, as on the log-in routes.
        async with state.limits.login_attempt(username_key(principal.user.username), ip):
            replaced = await stepup.reauthenticate(
                state.db, state.hasher, state.totp_cipher, state.tokens, state.passkeys,
                principal.session, data, now=now, opening=next_session(request),
                context=context,
            )  # fmt: skip
    except stepup.ReauthenticationRejected as exc:
        # A refusal changes nothing (a spent challenge aside): queued, like a failed log-in.
        state.audit.later(EventType.REAUTHENTICATION_FAILED, context, user_id=principal.user.id,
                          method=exc.method, reason=exc.reason)  # fmt: skip
        raise
    except RateLimited:
        state.audit.later(EventType.RATE_LIMITED, context, user_id=principal.user.id,
                          limit="login", step="reauthenticate")  # fmt: skip
        raise
    return Reauthenticated(auth_time=now, **hand_over(replaced, request, response))


@router.post(
    "/reauthenticate/options",
    responses=responses(400, 401, 403, 429, codes={400: ["passkey_invalid"]}),
)
async def reauthentication_options(request: Request, principal: EnrollingSession) -> dict[str, Any]:
    """Options for `navigator.credentials.get()` that only your passkeys answer, to send back
    as `{"passkey": ...}` to /account/reauthenticate within 5 minutes."""
    state = request.app.state
    await state.limits.hit_login_ip(state.clients.client_ip(request))
    return await passkeys.reauthentication_options(
        state.db, state.passkeys, principal.user.id, state.clock()
    )


@router.get("/events", response_model=EventList, responses=responses(401, 422))
async def my_events(
    request: Request,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description=CURSOR_HELP)] = None,
) -> EventList:
    """Your own security events (log-ins, log-outs, password changes...), newest first."""
    rows, next_cursor = await request.app.state.db.read(
        lambda c: audit.page(c, limit, cursor, user_id=user.id)
    )
    return EventList(events=[EventRead.of(row) for row in rows], next=next_cursor)
