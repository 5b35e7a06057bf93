"""/admin: users and run-time CORS origins, for administrators only."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from authgate.accounts.schemas import UserRead
from authgate.admin import service
from authgate.admin.schemas import (
    Origin,
    OriginCreate,
    OriginList,
    OriginRead,
    UserAdminUpdate,
    UserList,
)
from authgate.cors import service as cors
from authgate.db import DbSession, ReadDbSession
from authgate.openapi import responses
from authgate.sessions.dependencies import CurrentAdmin

router = APIRouter(prefix="/admin", tags=["admin"], responses=responses(401, 403, 413, 422))
UserId = Annotated[int, Path(ge=1, le=service.MAX_ID)]


@router.get("/users", response_model=UserList)
async def list_users(
    _: CurrentAdmin,
    db: ReadDbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=320)] = None,
) -> UserList:
    """Users by id, a page at a time; `q` matches part of the username or e-mail, any case."""
    users, next_cursor = await service.page_users(db, limit, cursor, q)
    return UserList(users=[UserRead.model_validate(u) for u in users], next=next_cursor)


@router.patch("/users/{user_id}", response_model=UserRead, responses=responses(400, 404))
async def update_user(
    user_id: UserId, changes: UserAdminUpdate, _: CurrentAdmin, request: Request, db: DbSession
) -> UserRead:
    """Activate or deactivate a user (ending their sessions), grant or revoke admin rights."""
    state = request.app.state
    user = await service.update_user(db, state.epochs, user_id, changes, state.clock())
    return UserRead.model_validate(user)


@router.get("/cors/origins", response_model=OriginList)
async def list_origins(_: CurrentAdmin, request: Request, db: ReadDbSession) -> OriginList:
    """The allowed origins: from settings (`static`) and added at run time (`dynamic`)."""
    static = list(request.app.state.cors.static)
    return OriginList(static=static, dynamic=await cors.list_origins(db))


@router.post(
    "/cors/origins",
    status_code=201,
    response_model=OriginRead,
    responses={
        200: {"model": OriginRead, "description": "Already allowed (idempotent)"},
        **responses(400),
    },
)
async def add_origin(
    data: OriginCreate, _: CurrentAdmin, request: Request, response: Response, db: DbSession
) -> OriginRead:
    """Allow an origin (`scheme://host[:port]`) on every instance within 2 s; 200 if already."""
    state = request.app.state
    row, created = await cors.add_origin(db, state.epochs, data.origin, state.clock())
    await state.cors.refresh()  # this process at once; the others at their next epoch check
    response.status_code = 201 if created else 200
    return OriginRead.model_validate(row)


@router.delete("/cors/origins", status_code=204, responses=responses(404))
async def remove_origin(
    origin: Annotated[Origin, Query()], _: CurrentAdmin, request: Request, db: DbSession
) -> Response:
    """Stop allowing a run-time origin (those from settings stay)."""
    state = request.app.state
    await cors.remove_origin(db, state.epochs, origin)
    await state.cors.refresh()
    return Response(status_code=204)
