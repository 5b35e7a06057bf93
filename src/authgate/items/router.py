"""/items: the seed's upsert resource, owned, persistent and safe under concurrent writers."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from authgate.bodies import optional_json_object
from authgate.db import DbSession, ReadDbSession
from authgate.errors import language_of
from authgate.i18n import translate
from authgate.items import service
from authgate.items.dependencies import ExistingItem, ItemId, OwnedItem, WritableItem
from authgate.items.schemas import (
    Cursor,
    ItemList,
    ItemName,
    ItemRead,
    ItemResult,
    ItemSize,
    ItemWrite,
    encode_cursor,
)
from authgate.openapi import responses
from authgate.sessions.dependencies import CurrentUser

router = APIRouter(prefix="/items", tags=["items"], responses=responses(413))
FIELDS = ("name", "size")
IfMatch = Annotated[str | None, Header(max_length=2048)]
IfNoneMatch = Annotated[str | None, Header(max_length=2048)]
ITEM_BODY_DOCS = {
    "requestBody": {
        "required": False,
        "content": {"application/json": {"schema": ItemWrite.model_json_schema()}},
    }
}


async def item_input(
    request: Request,
    name: Annotated[ItemName | None, Query()] = None,
    size: Annotated[ItemSize | None, Query()] = None,
) -> ItemWrite:
    """`name` and `size` from a JSON body when one is sent, otherwise from the query.

    Query values that are sent must be valid either way (422), even when the body wins.
    """
    body = await optional_json_object(request)
    if body is not None:
        source, data = "body", {k: v for k, v in body.items() if k in FIELDS}
    else:
        query = {"name": name, "size": size}
        source, data = "query", {k: v for k, v in query.items() if v is not None}
    try:
        return ItemWrite.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for error in errors:
            error["loc"] = (source, *error["loc"])
        raise RequestValidationError(errors) from None


ItemInput = Annotated[ItemWrite, Depends(item_input)]


@router.put(
    "/{item_id}",
    response_model=ItemResult,
    status_code=200,
    responses={
        201: {"model": ItemResult, "description": "Created"},
        **responses(401, 403, 412, 413, 415, 422),
    },
    openapi_extra=ITEM_BODY_DOCS,
)
async def put_item(
    item_id: ItemId,
    request: Request,
    response: Response,
    # Resolved in this order: who is calling, what they send, then the item under lock,
    # so that no write lock is held while a session is checked or a body is uploaded.
    user: CurrentUser,
    data: ItemInput,
    existing: WritableItem,
    db: DbSession,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
) -> ItemResult:
    """Create or replace an item (yours, or any as admin); `If-Match` prevents lost updates."""
    found, created = await service.upsert(
        db, item_id, existing, data, user, request.app.state.clock(),
        if_match=if_match, if_none_match=if_none_match,
    )  # fmt: skip
    response.headers["ETag"] = found.etag
    if created:
        response.status_code = 201
        response.headers["Location"] = request.url_for("read_item", item_id=item_id).path
    key = "item_created" if created else "item_updated"
    return ItemResult(
        message=translate(key, language_of(request)), item=ItemRead.model_validate(found)
    )


@router.get(
    "/{item_id}",
    response_model=ItemRead,
    responses={304: {"description": "Not modified"}, **responses(404, 422)},
)
async def read_item(
    found: ExistingItem, response: Response, if_none_match: IfNoneMatch = None
) -> Any:
    """Read one item; `If-None-Match` with the current ETag answers 304."""
    if service.matches(if_none_match, found.etag, weak=True):
        return Response(status_code=304, headers={"ETag": found.etag})
    response.headers["ETag"] = found.etag
    return ItemRead.model_validate(found)


@router.get("", response_model=ItemList, responses=responses(422))
async def list_items(
    db: ReadDbSession,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[Cursor | None, Query()] = None,
) -> ItemList:
    """Everyone's items, by id, a page at a time (`next` is the cursor of the next page)."""
    found, last_id = await service.page(db, limit, cursor)
    return ItemList(
        items=[ItemRead.model_validate(f) for f in found],
        next=encode_cursor(last_id) if last_id is not None else None,
    )


@router.delete("/{item_id}", status_code=204, responses=responses(401, 403, 404, 412, 422))
async def delete_item(found: OwnedItem, db: DbSession, if_match: IfMatch = None) -> Response:
    """Delete an item (yours, or any as admin); `If-Match` makes it conditional."""
    await service.remove(db, found, if_match)
    return Response(status_code=204)
