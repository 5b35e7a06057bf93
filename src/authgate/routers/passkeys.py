"""/account/passkeys routes: register, list and delete passkeys, and log in with one."""

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import Connection

from authgate.accounts.policy import username_key
from authgate.audit.events import EventType
from authgate.bodies import parse_body
from authgate.browser.schemas import LoginResult
from authgate.errors import NotFound, RateLimited
from authgate.openapi import RECENT_401, json_body, responses
from authgate.passkeys import assertion, service
from authgate.passkeys.assertion import PasskeyLogin
from authgate.passkeys.errors import PasskeyRejected
from authgate.passkeys.schemas import PasskeyLoginRequest, PasskeyRead, PasskeyRegistration
from authgate.routers.browser import cookie_opening
from authgate.routers.credentials import logged_in, store_session
from authgate.routers.tokens import token_opening
from authgate.routing import LeanRoute
from authgate.sessions.dependencies import (
    EnrollingUser,
    RecentEnrollingSession,
    RecentSession,
    event_context,
)
from authgate.sessions.schemas import TokenLogin

router = APIRouter(
    prefix="/account/passkeys", tags=["passkeys"], responses=responses(413), route_class=LeanRoute
)
RECENT = {401: RECENT_401}


@router.post("/register/options", responses=responses(401, 403, codes=RECENT))
async def registration_options(
    request: Request, principal: RecentEnrollingSession
) -> dict[str, Any]:
    """Options for `navigator.credentials.create()` (needs a recent authentication)."""
    state = request.app.state
    return await service.registration_options(
        state.db, state.passkeys, principal.user, state.clock()
    )


@router.post(
    "/register",
    status_code=201,
    response_model=PasskeyRead,
    openapi_extra=json_body(PasskeyRegistration),
    responses=responses(400, 401, 403, 413, 415, 422, codes={400: ["passkey_invalid"], **RECENT}),
)
async def register(request: Request, principal: RecentEnrollingSession) -> PasskeyRead:
    """Store a new passkey from the authenticator's answer to the registration options."""
    data = await parse_body(request, PasskeyRegistration, forms=False)
    state = request.app.state
    row = await service.register(
        state.db, state.passkeys, principal.user.id, data.credential, data.name, state.clock(),
        event_context(request),
    )  # fmt: skip
    return PasskeyRead.model_validate(row)


@router.get("", response_model=list[PasskeyRead], responses=responses(401))
async def list_passkeys(request: Request, user: EnrollingUser) -> list[PasskeyRead]:
    """Your passkeys, oldest first."""
    rows = await request.app.state.db.read(lambda c: service.list_passkeys(c, user.id))
    return [PasskeyRead.model_validate(row) for row in rows]


# Only a UUID matches the route: `DELETE /account/passkeys/login` is a 405 naming the methods
# of `/login`, and a malformed id is a 404 like an unknown one.
@router.delete(
    "/{passkey_id:uuid}", status_code=204, responses=responses(401, 403, 404, 422, codes=RECENT)
)
async def delete_passkey(
    passkey_id: uuid.UUID, request: Request, principal: RecentSession
) -> Response:
    """Delete one of your passkeys (needs a recent authentication); anyone else's is 404."""
    wanted = passkey_id
    user_id, context = principal.user.id, event_context(request)
    if not await request.app.state.db.write(
        lambda c: service.delete_passkey(c, user_id, wanted, context)
    ):
        raise NotFound()
    return Response(status_code=204)


@router.post("/login/options", responses=responses(429))
async def authentication_options(request: Request) -> dict[str, Any]:
    """Options for `navigator.credentials.get()`: any passkey of this site may answer."""
    state = request.app.state
    await state.limits.hit_login_ip(state.clients.client_ip(request))
    return await assertion.authentication_options(state.db, state.passkeys, state.clock())


@router.post(
    "/login",
    response_model=TokenLogin | LoginResult,
    openapi_extra=json_body(PasskeyLoginRequest),
    responses=responses(401, 413, 415, 422, 429, codes={401: ["invalid_credentials"]}),
)
async def login(request: Request, response: Response) -> Any:
    """Log in with a passkey: tokens, or a cookie session with `"session": "cookie"`."""
    data = await parse_body(request, PasskeyLoginRequest, forms=False)
    state = request.app.state
    username = await assertion.credential_owner(state.db, data.credential) or ""
    ip, context = state.clients.client_ip(request), event_context(request)
    new_session = cookie_opening if data.session == "cookie" else token_opening
    opening = new_session(request, None, method="passkey")

    def open_session(connection: Connection, passed: PasskeyLogin) -> Any:
        # RFC 8176: a hardware-bound key; with user verification (PIN, biometrics) two factors.
        amr = "hwk user mfa" if passed.user_verified else "hwk user"
        return store_session(opening, connection, passed.user_id, amr)

    try:
        async with state.limits.login_attempt(username_key(username), ip):
            user = await assertion.authenticate(
                state.db, state.passkeys, data.credential, state.clock(), then=open_session
            )
    except PasskeyRejected as exc:
        # Nothing changed that the event could go with (a spent challenge is no change of
        # the account's): queued, like a failed password log-in.
        state.metrics.login("failed")
        state.audit.later(EventType.PASSKEY_LOGIN_FAILED, context, user_id=exc.user_id,
                          reason=exc.reason)  # fmt: skip
        raise
    except RateLimited:
        state.metrics.login("rate_limited")
        state.audit.later(EventType.RATE_LIMITED, context, limit="login", step="passkey",
                          username=username)  # fmt: skip
        raise
    state.metrics.login("succeeded")
    return logged_in(request, response, opening, user)
