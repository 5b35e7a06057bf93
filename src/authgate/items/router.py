"""/items: the seed's upsert resource, owned, persistent and safe under concurrent writers."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from authgate.bodies import is_json, media_type
from authgate.db import DbSession, ReadDbSession
from authgate.errors import UnsupportedMediaType, language_of
from authgate.i18n import translate
from authgate.items import service
from authgate.items.dependencies import ExistingItem, ItemId, OwnedItem
from authgate.items.schemas import ItemList, ItemRead, ItemResult, ItemWrite
from authgate.openapi import responses
from authgate.sessions.dependencies import CurrentUser

router = APIRouter(prefix="/items", tags=["items"])
IfMatch = Annotated[str | None, Header()]


async def _item_input(request: Request) -> ItemWrite:
    """`name` and `size` from the query and/or a JSON body; the body wins field by field."""
    data: dict[str, Any] = {k: v for k, v in request.query_params.items() if k in ("name", "size")}
    raw = await request.body()
    if raw.strip():
        if not is_json(media_type(request)):
            raise UnsupportedMediaType()
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise RequestValidationError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body",),
                        "msg": "JSON decode error",
                        "input": {},
                    }
                ]
            ) from None
        if not isinstance(body, dict):
            raise RequestValidationError(
                [
                    {
                        "type": "dict_type",
                        "loc": ("body",),
                        "msg": "Input should be an object",
                        "input": {},
                    }
                ]
            )
        data.update({k: v for k, v in body.items() if k in ("name", "size")})
    try:
        return ItemWrite.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


@router.put(
    "/{item_id}",
    response_model=ItemResult,
    status_code=200,
    responses={
        201: {"model": ItemResult, "description": "Created"},
        **responses(401, 403, 412, 413, 415, 422),
    },
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": ItemWrite.model_json_schema()}},
        },
        "parameters": [
            {"name": "name", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": "size", "in": "query", "required": False, "schema": {"type": "integer"}},
        ],
    },
)
async def put_item(
    item_id: ItemId,
    request: Request,
    response: Response,
    db: DbSession,
    user: CurrentUser,
    if_match: IfMatch = None,
    if_none_match: IfMatch = None,
) -> ItemResult:
    """Create or replace an item (yours, or any as admin); `If-Match` prevents lost updates."""
    data = await _item_input(request)
    found, created = await service.upsert(
        db, item_id, data, user, request.app.state.clock(),
        if_match=if_match, if_none_match=if_none_match,
    )  # fmt: skip
    response.headers["ETag"] = found.etag
    if created:
        response.status_code = 201
        response.headers["Location"] = str(request.url_for("get_item", item_id=item_id).path)
    key = "item_created" if created else "item_updated"
    return ItemResult(message=translate(key, language_of(request)), item=found.read())


@router.get(
    "/{item_id}",
    response_model=ItemRead,
    responses={304: {"description": "Not modified"}, **responses(404, 422)},
)
async def get_item(found: ExistingItem, response: Response, if_none_match: IfMatch = None) -> Any:
    """Read one item; `If-None-Match` with the current ETag answers 304."""
    if service.matches(if_none_match, found.etag):
        return Response(status_code=304, headers={"ETag": found.etag})
    response.headers["ETag"] = found.etag
    return found.read()


@router.get("", response_model=ItemList, responses=responses(422))
async def list_items(
    db: ReadDbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ItemList:
    """Everyone's items, by id, a page at a time (`next` is the cursor of the next page)."""
    found, next_cursor = await service.page(db, limit, cursor)
    return ItemList(items=[f.read() for f in found], next=next_cursor)


@router.delete("/{item_id}", status_code=204, responses=responses(401, 403, 404, 412, 422))
async def delete_item(found: OwnedItem, db: DbSession, if_match: IfMatch = None) -> Response:
    """Delete an item (yours, or any as admin)."""
    await service.remove(db, found, if_match)
    return Response(status_code=204)
