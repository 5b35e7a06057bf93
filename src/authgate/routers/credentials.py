"""Log-in and sign-up as the routes share them: under the same abuse limits."""

from fastapi import Request

from authgate.accounts import service
from authgate.accounts.policy import username_key
from authgate.accounts.schemas import UserCreate
from authgate.accounts.snapshot import AuthUser
from authgate.mfa.challenge import challenge_if_enrolled
from authgate.mfa.errors import MfaRequired
from authgate.recovery.dependencies import verify_new_email


async def authenticate_request(
    request: Request, username: str, password: str, *, kind: str
) -> AuthUser:
    """Check credentials under the log-in limits that the three log-in routes share.

    With a second factor on, the password step ends here: 401 `mfa_required` with an
    `mfa_token` for `POST /account/login/mfa`, which finishes the log-in as `kind`
    (`cookie`, `token` or `oauth2`: the route the password came through).
    """
    state = request.app.state
    ip = state.clients.client_ip(request)
    async with state.limits.login_attempt(username_key(username), ip):
        user = await service.authenticate(state.db, state.hasher, username, password)
    lifetime = state.settings.mfa_challenge_lifetime
    token = await challenge_if_enrolled(state.db, user.id, kind, state.clock(), lifetime)
    if token is not None:
        raise MfaRequired(token)
    return user


async def register_request(request: Request, data: UserCreate) -> AuthUser:
    """Register under the sign-up limit that both sign-up routes share."""
    state = request.app.state
    await state.limits.hit_signup(state.clients.client_ip(request))
    user = await service.register(
        state.db, state.hasher, data, min_length=state.settings.password_min_length
    )
    await verify_new_email(request, user.id, None, user.email)
    return user
