"""/admin: users and run-time CORS origins, for administrators only."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from authgate.accounts.schemas import UserRead
from authgate.admin import service
from authgate.admin.schemas import (
    MAX_ID,
    Origin,
    OriginCreate,
    OriginList,
    OriginRead,
    SessionsEnded,
    UserAdminUpdate,
    UserCursor,
    UserList,
    encode_cursor,
)
from authgate.audit import service as audit
from authgate.audit.events import EventType
from authgate.audit.schemas import EventList, EventRead
from authgate.bodies import JSON_ONLY
from authgate.cors import service as cors
from authgate.openapi import CURSOR_HELP, responses
from authgate.routing import LeanRoute
from authgate.schemas import Instant
from authgate.sessions.dependencies import AdminSession, CurrentAdmin, event_context

# Admins only: anyone else is forbidden.
ADMIN = responses(401, 403, 413, 422, codes={403: ["csrf_failed", "forbidden"]})
router = APIRouter(prefix="/admin", tags=["admin"], responses=ADMIN, route_class=LeanRoute)
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/users", response_model=UserList)
async def list_users(
    _: CurrentAdmin,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[UserCursor | None, Query(description=CURSOR_HELP)] = None,
    q: Annotated[str | None, Query(max_length=320)] = None,
) -> UserList:
    """Users by id, a page at a time; `q` matches part of the username or e-mail, any case."""
    users, last = await request.app.state.db.read(
        lambda c: service.page_users(c, limit, cursor, q)  # type: ignore[arg-type]
    )
    next_cursor = encode_cursor(last) if last is not None else None
    return UserList(users=[UserRead.model_validate(u) for u in users], next=next_cursor)


@router.patch(
    "/users/{user_id}",
    response_model=UserRead,
    responses=responses(404, 415),
    dependencies=JSON_ONLY,
)
async def update_user(
    user_id: UserId, changes: UserAdminUpdate, _: CurrentAdmin, request: Request
) -> UserRead:
    """Activate or deactivate a user (ending their sessions), grant or revoke admin rights."""
    state = request.app.state
    now, context = state.clock(), event_context(request)
    user = await state.db.write(lambda c: service.update_user(c, user_id, changes, now, context))
    return UserRead.model_validate(user)


@router.post("/users/{user_id}/logout-all", response_model=SessionsEnded, responses=responses(404))
async def end_user_sessions(user_id: UserId, _: CurrentAdmin, request: Request) -> SessionsEnded:
    """End every session of a user at once, everywhere (the account stays active)."""
    state = request.app.state
    now, context = state.clock(), event_context(request)
    ended = await state.db.write(lambda c: service.end_sessions_of(c, user_id, now, context))
    return SessionsEnded(ended=ended)


@router.post("/logout-all", response_model=SessionsEnded)
async def end_all_sessions(principal: AdminSession, request: Request) -> SessionsEnded:
    """End every session of every user but your own, at once, everywhere (after a breach,
    say)."""
    state = request.app.state
    now, context, keep = state.clock(), event_context(request), principal.session.id
    ended = await state.db.write(lambda c: service.end_everyones_sessions(c, now, context, keep))
    return SessionsEnded(ended=ended)


@router.get("/audit", response_model=EventList)
async def list_events(
    _: CurrentAdmin,
    request: Request,
    user_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    type: Annotated[EventType | None, Query()] = None,
    since: Annotated[Instant | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description=CURSOR_HELP)] = None,
) -> EventList:
    """Security events of every account, newest first, filtered by user, type and time."""
    rows, next_cursor = await request.app.state.db.read(
        lambda c: audit.page(c, limit, cursor, user_id=user_id, type=type, since=since)  # type: ignore[arg-type]
    )
    return EventList(events=[EventRead.of(row) for row in rows], next=next_cursor)


@router.get("/cors/origins", response_model=OriginList)
async def list_origins(_: CurrentAdmin, request: Request) -> OriginList:
    """The allowed origins: from settings (`static`) and added at run time (`dynamic`)."""
    state = request.app.state
    return OriginList(
        static=list(state.cors.static), dynamic=await state.db.read(cors.list_origins)
    )


@router.post(
    "/cors/origins",
    status_code=201,
    response_model=OriginRead,
    responses={
        200: {"model": OriginRead, "description": "Already allowed (idempotent)"},
        **responses(415),
    },
    dependencies=JSON_ONLY,
)
async def add_origin(
    data: OriginCreate, _: CurrentAdmin, request: Request, response: Response
) -> OriginRead:
    """Allow an origin (`scheme://host[:port]`) on every instance within 2 s; 200 if already."""
    state = request.app.state
    now = state.clock()
    row, created = await state.db.write(lambda c: cors.add_origin(c, data.origin, now))
    await state.cors.refresh()  # this process at once; the others at their next feed check
    response.status_code = 201 if created else 200
    return OriginRead.model_validate(row)


@router.delete("/cors/origins", status_code=204, responses=responses(404))
async def remove_origin(
    origin: Annotated[Origin, Query()], _: CurrentAdmin, request: Request
) -> Response:
    """Stop allowing a run-time origin (those from settings stay)."""
    state = request.app.state
    await state.db.write(lambda c: cors.remove_origin(c, origin))
    await state.cors.refresh()
    return Response(status_code=204)
