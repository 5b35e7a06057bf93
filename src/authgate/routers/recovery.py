"""/account routes of e-mailed links: password reset and e-mail verification."""

from fastapi import APIRouter, Request

from authgate.accounts.schemas import UserRead
from authgate.bodies import JSON_ONLY
from authgate.handlers import language_of
from authgate.i18n import translate
from authgate.openapi import NEW_PASSWORD_422, responses
from authgate.recovery import service
from authgate.recovery.dependencies import (
    confirm_email,
    reset_password,
    send_verification_request,
)
from authgate.recovery.schemas import EmailVerification, PasswordResetConfirm, PasswordResetRequest
from authgate.routing import LeanRoute
from authgate.schemas import Message
from authgate.sessions.dependencies import CurrentUser, event_context

router = APIRouter(
    prefix="/account", tags=["accounts"], responses=responses(413), route_class=LeanRoute
)


@router.post(
    "/password-reset",
    status_code=202,
    response_model=Message,
    responses=responses(415, 422, 429),
    dependencies=JSON_ONLY,
)
async def request_password_reset(data: PasswordResetRequest, request: Request) -> Message:
    """E-mail a password-reset link; the same answer whether or not the address is known."""
    state = request.app.state
    await state.limits.hit_password_reset(state.clients.client_ip(request))
    language = language_of(request)
    letter = state.mail.letter("password_reset", language)
    await service.request_reset(
        state.db, data.email, now=state.clock(), letter=letter, context=event_context(request)
    )
    state.mail.wake()
    return Message(message=translate("password_reset_requested", language))


@router.post(
    "/password-reset/confirm",
    response_model=Message,
    responses=responses(400, 415, 422, codes={400: ["token_invalid"], 422: NEW_PASSWORD_422}),
    dependencies=JSON_ONLY,
)
async def confirm_password_reset(data: PasswordResetConfirm, request: Request) -> Message:
    """Set a new password with the e-mailed token; every session of the account ends."""
    await reset_password(request, data.token, data.new_password)
    return Message(message=translate("password_reset_done", language_of(request)))


@router.post(
    "/verify-email/request",
    status_code=202,
    response_model=Message,
    responses=responses(400, 401, 403),
)
async def request_email_verification(request: Request, user: CurrentUser) -> Message:
    """E-mail a new verification link to your address (400 when you have none)."""
    await send_verification_request(request, user.id)
    return Message(message=translate("verification_sent", language_of(request)))


@router.post(
    "/verify-email",
    response_model=UserRead,
    responses=responses(400, 415, 422, codes={400: ["token_invalid"]}),
    dependencies=JSON_ONLY,
)
async def verify_email(data: EmailVerification, request: Request) -> UserRead:
    """Confirm your e-mail address with the token from the verification mail."""
    return await confirm_email(request, data.token)
