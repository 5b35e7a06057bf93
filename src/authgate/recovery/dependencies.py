"""Request-level helpers: verification mails (also the hooks of sign-up and profile changes),
and the reset and verification shared by the API and the landing pages."""

from fastapi import Request

from authgate.accounts.policy import email_key
from authgate.accounts.schemas import UserRead
from authgate.handlers import language_of
from authgate.recovery import service
from authgate.sessions.dependencies import event_context


async def send_verification_request(request: Request, user_id: int) -> None:
    """Queue a verification mail to the user's address, in the request's language."""
    state = request.app.state
    letter = state.mail.letter("email_verification", language_of(request))
    await service.send_verification(
        state.db, user_id, now=state.clock(), letter=letter, context=event_context(request)
    )
    state.mail.wake()


async def verify_new_email(
    request: Request, user_id: int, before: str | None, after: str | None
) -> None:
    """After sign-up (`before` None) or a profile change: mail the address if it is new."""
    if after and email_key(after) != email_key(before):
        await send_verification_request(request, user_id)


async def reset_password(request: Request, token: str, new_password: str) -> None:
    """The reset, shared by the API and the landing page."""
    state = request.app.state
    await service.confirm_reset(
        state.db, state.hasher, token, new_password,
        now=state.clock(), min_length=state.settings.password_min_length,
        context=event_context(request),
    )  # fmt: skip


async def confirm_email(request: Request, token: str) -> UserRead:
    """The verification, shared by the API and the landing page."""
    state = request.app.state
    user = await service.verify_email(state.db, token, state.clock(), event_context(request))
    return UserRead.model_validate(user)
