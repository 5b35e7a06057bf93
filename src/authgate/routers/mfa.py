"""/account/mfa routes (a TOTP factor and recovery codes) and the log-in's second step."""

from typing import Any

from fastapi import APIRouter, Request, Response

from authgate.accounts.policy import username_key
from authgate.audit.events import EventType
from authgate.bodies import parse_body
from authgate.browser.schemas import LoginResult
from authgate.errors import RateLimited
from authgate.mfa import challenge, service
from authgate.mfa.errors import MfaCodeRejected
from authgate.mfa.schemas import CodeInput, MfaLogin, RecoveryCodes, TotpConfirmed, TotpSetupRead
from authgate.openapi import RECENT_401, form_or_json, responses
from authgate.routers.browser import cookie_opening
from authgate.routers.credentials import logged_in, store_session
from authgate.routers.handover import hand_over, next_session
from authgate.routers.tokens import token_opening
from authgate.routing import LeanRoute
from authgate.sessions import stepup
from authgate.sessions.dependencies import (
    RecentEnrollingSession,
    RecentSession,
    event_context,
    is_enrolling,
)
from authgate.sessions.schemas import OAuth2Token, TokenLogin

router = APIRouter(prefix="/account", tags=["mfa"], responses=responses(413), route_class=LeanRoute)
# RFC 8176: a password and a one-time code; a recovery code is a second factor too.
LOGIN_AMR = {"totp": "pwd otp mfa", "recovery_code": "pwd mfa"}
# Routes that need a recent authentication and a second factor that is on.
NOT_ON = {400: ["mfa_not_enabled"], 401: RECENT_401}


@router.post(
    "/mfa/totp",
    response_model=TotpSetupRead,
    responses=responses(401, 403, 409, codes={401: RECENT_401}),
)
async def start_totp(request: Request, principal: RecentEnrollingSession) -> TotpSetupRead:
    """Start setting up a TOTP authenticator (needs a recent authentication): a pending
    secret, its otpauth URI and QR code."""
    state, user = request.app.state, principal.user
    setup = await service.start_totp(
        state.db, state.totp_cipher, user.id, user.username, state.clock()
    )
    return TotpSetupRead(secret=setup.secret, otpauth_uri=setup.otpauth_uri, qr_svg=setup.qr_svg)


@router.post(
    "/mfa/totp/confirm",
    response_model=TotpConfirmed,
    response_model_exclude_none=True,
    responses=responses(
        400,
        401,
        403,
        409,
        422,
        codes={400: ["mfa_code_invalid", "mfa_not_enabled"], 401: RECENT_401},
    ),
)
async def confirm_totp(
    data: CodeInput, request: Request, response: Response, principal: RecentEnrollingSession
) -> TotpConfirmed:
    """Turn TOTP on with a first code from the app; answers ten single-use recovery codes
    (and, under mandatory MFA, your session's replacement)."""
    state = request.app.state
    cipher, now, context = state.totp_cipher, state.clock(), event_context(request)
    user_id = principal.user.id
    if is_enrolling(request, principal):
        codes, replaced = await stepup.confirm_totp(
            state.db, cipher, state.tokens, principal.session, data.code, now=now,
            opening=next_session(request), context=context,
        )  # fmt: skip
        return TotpConfirmed(recovery_codes=codes, **hand_over(replaced, request, response))
    codes = await state.db.write(
        lambda c: service.confirm_totp(c, cipher, user_id, data.code, now, context)
    )
    return TotpConfirmed(recovery_codes=codes)


@router.delete("/mfa/totp", status_code=204, responses=responses(400, 401, 403, codes=NOT_ON))
async def disable_totp(request: Request, principal: RecentSession) -> Response:
    """Turn TOTP off (needs a recent authentication): log-in asks for the password alone
    again; recovery codes are deleted."""
    user_id, context = principal.user.id, event_context(request)
    await request.app.state.db.write(lambda c: service.disable_totp(c, user_id, context))
    return Response(status_code=204)


@router.post(
    "/mfa/recovery-codes",
    response_model=RecoveryCodes,
    responses=responses(400, 401, 403, codes=NOT_ON),
)
async def regenerate_recovery_codes(request: Request, principal: RecentSession) -> RecoveryCodes:
    """Replace all your recovery codes with ten new ones (needs a recent authentication)."""
    now, user_id, context = request.app.state.clock(), principal.user.id, event_context(request)
    codes = await request.app.state.db.write(
        lambda c: service.regenerate_recovery_codes(c, user_id, now, context)
    )
    return RecoveryCodes(recovery_codes=codes)


@router.post(
    "/login/mfa",
    response_model=LoginResult | TokenLogin | OAuth2Token,
    response_model_exclude_none=True,
    openapi_extra=form_or_json(MfaLogin),
    responses=responses(401, 413, 415, 422, 429, codes={401: ["invalid_credentials"]}),
)
async def login_mfa(request: Request, response: Response) -> Any:
    """Finish a log-in that answered `mfa_required`: its `mfa_token` and a TOTP or recovery
    code; answers as the route the password went to would have (cookies or tokens)."""
    data = await parse_body(request, MfaLogin)
    state = request.app.state
    now = state.clock()
    found = await challenge.challenged(state.db, data.mfa_token, now)
    username, kind = (found.username, found.kind) if found else ("", "token")
    context = event_context(request)
    # The session of the route the challenge names (fixed when it was made), made ready so
    # that the unit that spends the code stores it.
    method = challenge.method_of(data.code)
    new_session = cookie_opening if kind == "cookie" else token_opening
    opening = new_session(request, None, LOGIN_AMR[method], method)

    # Wrong codes count against the log-in limit of the account, like wrong passwords.
    try:
        async with state.limits.login_attempt(
            username_key(username), state.clients.client_ip(request)
        ):
            user = await challenge.finish(
                state.db, state.totp_cipher, data.mfa_token, code=data.code,
                recovery_code=data.recovery_code, now=now, context=context,
                then=lambda connection, user_id: store_session(opening, connection, user_id),
            )  # fmt: skip
    except MfaCodeRejected as exc:
        if not exc.recorded:  # nothing changed, so no unit recorded it: queued
            state.audit.later(EventType.MFA_FAILED, context, user_id=exc.user_id,
                              method=exc.method, reason=exc.reason)  # fmt: skip
        raise
    except RateLimited:
        state.audit.later(EventType.RATE_LIMITED, context, limit="login", step="mfa",
                          username=username)  # fmt: skip
        raise
    if kind == "oauth2":
        pair = opening.pair(state.tokens)
        return OAuth2Token(
            access_token=pair.access, refresh_token=pair.refresh, expires_in=pair.expires_in
        )
    return logged_in(request, response, opening, user)
