"""/account routes about the user: create the account, read and edit it, password, deletion."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from authgate.accounts import service as accounts
from authgate.accounts.schemas import PasswordChange, UserCreate, UserRead, UserUpdate
from authgate.audit import service as audit
from authgate.audit.schemas import EventList, EventRead
from authgate.bodies import parse_body
from authgate.handlers import language_of
from authgate.i18n import translate
from authgate.openapi import form_or_json, responses
from authgate.routers.credentials import register_request
from authgate.schemas import Message
from authgate.sessions import service as sessions
from authgate.sessions.dependencies import (
    CurrentSession,
    CurrentUser,
    current_user,
    event_context,
)

router = APIRouter(prefix="/account", tags=["accounts"], responses=responses(413))
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


# GET /me is the guard itself: the user it returns is the answer, and FastAPI resolves one
# level of dependencies for it instead of two. It is added first because routes are tried in
# order, at a cost each, and it is the busiest by far.
router.add_api_route(
    "/me",
    current_user,
    methods=["GET"],
    name="read_me",
    description="Your own account.",
    response_model=UserRead,
    responses=responses(401),
)


@router.post(
    "/create-account",
    status_code=201,
    response_model=UserRead,
    openapi_extra=form_or_json(UserCreate),
    responses=responses(400, 413, 415, 422, 429),
)
async def create_account(request: Request) -> UserRead:
    """Create an account; log in next with /account/login. The password is never returned."""
    user = await register_request(request, await parse_body(request, UserCreate))
    return UserRead.model_validate(user)


@router.patch("/me", response_model=UserRead, responses=responses(400, 401, 403, 422))
async def update_me(data: UserUpdate, request: Request, user: CurrentUser) -> UserRead:
    """Change your e-mail address or names; a new e-mail address is not verified yet."""
    updated = await request.app.state.db.write(lambda c: accounts.update_profile(c, user.id, data))
    return UserRead.model_validate(updated)


@router.post("/change-password", response_model=Message, responses=responses(400, 401, 403, 422))
async def change_password(
    data: PasswordChange, request: Request, principal: CurrentSession
) -> Message:
    """Change your password; every other session of yours ends, this one stays."""
    state = request.app.state
    await sessions.change_password(
        state.db, state.hasher, principal.user.id, data.old_password, data.new_password,
        keep=principal.session.id, now=state.clock(),
        min_length=state.settings.password_min_length, context=event_context(request),
    )  # fmt: skip
    return Message(message=translate("password_changed", language_of(request)))


@router.delete(
    "/delete-account/{user_id}", status_code=204, responses=responses(401, 403, 404, 422)
)
async def delete_account(user_id: UserId, request: Request, user: CurrentUser) -> Response:
    """Delete an account (yours, or any as admin) with its sessions and items."""
    now, context = request.app.state.clock(), event_context(request)
    await request.app.state.db.write(lambda c: sessions.delete_user(c, user, user_id, now, context))
    return Response(status_code=204)


@router.get("/events", response_model=EventList, responses=responses(401, 422))
async def my_events(
    request: Request,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> EventList:
    """Your own security events (log-ins, log-outs, password changes...), newest first."""
    rows, next_cursor = await request.app.state.db.read(
        lambda c: audit.page(c, limit, cursor, user_id=user.id)
    )
    return EventList(events=[EventRead.of(row) for row in rows], next=next_cursor)
