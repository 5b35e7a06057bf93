"""Request-level helpers: verification mails (also a step of a sign-up's or a profile change's
unit of work), and the reset and verification shared by the API and the landing pages."""

from collections.abc import Callable

from fastapi import Request
from sqlalchemy import Connection

from authgate.accounts.schemas import UserRead
from authgate.handlers import language_of
from authgate.recovery import service
from authgate.sessions.dependencies import event_context
from authgate.units import after_commit


async def send_verification_request(request: Request, user_id: int) -> None:
    """Queue a verification mail to the user's address, in the request's language."""
    state = request.app.state
    letter = state.mail.letter("email_verification", language_of(request))
    await service.send_verification(
        state.db, user_id, now=state.clock(), letter=letter, context=event_context(request)
    )
    state.mail.wake()


def verification_step(
    request: Request, username: str, address: str | None
) -> Callable[[Connection, int], None] | None:
    """For a sign-up or a new address: the step of its unit of work that mails `address` a
    verification link for the user it is given, in the request's language (None without an
    address). The account and its mail commit together or not at all: no account or address
    is left waiting for a link that was never queued."""
    if not address:
        return None
    state = request.app.state
    letter = state.mail.letter("email_verification", language_of(request))
    now, context = state.clock(), event_context(request)

    def step(connection: Connection, user_id: int) -> None:
        service.queue_verification(
            connection, user_id, username, address, now=now, letter=letter, context=context
        )
        after_commit(connection, state.mail.wake)

    return step


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
