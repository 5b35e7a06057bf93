"""/items: the seed's upsert resource, owned, persistent and safe under concurrent writers."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError

from authgate.answers import answer
from authgate.bodies import optional_json_object
from authgate.handlers import language_of
from authgate.i18n import translate
from authgate.items import service
from authgate.items.dependencies import ItemId, OwnedItem, get_item
from authgate.items.schemas import (
    ITEM_ID_PATTERN,
    Cursor,
    ItemList,
    ItemName,
    ItemRead,
    ItemResult,
    ItemSize,
    ItemWrite,
    encode_cursor,
)
from authgate.openapi import CURSOR_HELP, responses
from authgate.routing import LeanRoute
from authgate.sessions.dependencies import CurrentUser

router = APIRouter(prefix="/items", tags=["items"], responses=responses(413), route_class=LeanRoute)
FIELDS = ("name", "size")
MAX_PRECONDITION = 2048
_ITEM_ID = TypeAdapter(ItemId)
ITEM_ID_DOCS = {"parameters": [{
    "name": "item_id", "in": "path", "required": True,
    "schema": {"type": "string", "maxLength": 64, "pattern": ITEM_ID_PATTERN, "title": "Item Id"},
}]}  # fmt: skip
# Someone else's item is forbidden; a cookie without its CSRF token too.
OWNER_403 = {403: ["csrf_failed", "forbidden"]}
ITEM_BODY_DOCS = {
    "requestBody": {
        "required": False,
        "description": "`name` and `size`; or send both as query parameters instead (the body "
        "wins when both are sent). With neither a body nor both parameters: 422.",
        "content": {"application/json": {"schema": ItemWrite.model_json_schema()}},
    }
}
# What a client can do next with the item it wrote (OpenAPI links).
ITEM_LINKS = {
    name: {"operationRef": f"#/paths/~1items~1{{item_id}}/{method}",
           "parameters": {"item_id": "$response.body#/item/id"}}
    for name, method in (("ReadItem", "get"), ("DeleteItem", "delete"), ("ReplaceItem", "put"))
}  # fmt: skip


def precondition(request: Request, name: str) -> str | None:
    """The `If-Match` or `If-None-Match` header (422 when over 2048 characters).

    Read here rather than declared as a FastAPI header parameter: FastAPI's parameter
    machinery cost 116 k instructions a header on every request (callgrind, GET /items/{id}:
    976 k with it, 860 k without). `precondition_docs` declares them in OpenAPI.
    """
    value = request.headers.get(name)
    if value is not None and len(value) > MAX_PRECONDITION:
        message = f"String should have at most {MAX_PRECONDITION} characters"
        raise RequestValidationError([{
            "type": "string_too_long", "loc": ("header", name), "msg": message, "input": value,
            "ctx": {"max_length": MAX_PRECONDITION},
        }])  # fmt: skip
    return value


def path_item_id(request: Request) -> str:
    """The path's `{item_id}`, checked as `ItemId` checks it (the same 422 when it fails).

    Read here rather than declared as a FastAPI path parameter, as `precondition` is (GET
    /items/{id}, callgrind: 819 k instructions a request declared, 778 k read here); only
    on that route, the busiest. `ITEM_ID_DOCS` declares it in OpenAPI as FastAPI would.
    """
    try:
        return _ITEM_ID.validate_python(request.path_params["item_id"])
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        for error in errors:
            error["loc"] = ("path", "item_id")
        raise RequestValidationError(errors) from None


def merge_docs(*extras: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra`s together: their parameters in one list."""
    return {"parameters": [p for extra in extras for p in extra.get("parameters", ())]}


def precondition_docs(*names: str) -> dict[str, Any]:
    schema = {"type": "string", "maxLength": MAX_PRECONDITION}
    return {"parameters": [{"name": name, "in": "header", "required": False, "schema": schema}
                           for name in names]}  # fmt: skip


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
        200: {"description": "Updated", "links": ITEM_LINKS},
        201: {"model": ItemResult, "description": "Created", "links": ITEM_LINKS},
        **responses(401, 403, 412, 413, 415, 422, codes=OWNER_403),
    },
    openapi_extra={**ITEM_BODY_DOCS, **precondition_docs("if-match", "if-none-match")},
)
async def put_item(
    item_id: ItemId,
    request: Request,
    # Resolved in this order: who is calling, then what they send; the item is read, checked
    # and written in one unit of work after both.
    user: CurrentUser,
    data: ItemInput,
) -> Response:
    """Create or replace an item (yours, or any as admin); `If-Match` prevents lost updates."""
    if_match = precondition(request, "if-match")
    if_none_match = precondition(request, "if-none-match")
    now = request.app.state.clock()
    found, created = await request.app.state.db.write(
        lambda c: service.upsert(
            c, item_id, data, user, now, if_match=if_match, if_none_match=if_none_match
        )
    )
    headers = {"ETag": found.etag}
    if created:
        headers["Location"] = request.url_for("read_item", item_id=item_id).path
    key = "item_created" if created else "item_updated"
    result = ItemResult(
        message=translate(key, language_of(request)), item=ItemRead.model_validate(found)
    )
    return answer(result, 201 if created else 200, headers)


@router.get(
    "/{item_id}",
    response_model=ItemRead,
    responses={304: {"description": "Not modified"}, **responses(404, 422)},
    openapi_extra=merge_docs(ITEM_ID_DOCS, precondition_docs("if-none-match")),
)
async def read_item(request: Request) -> Response:
    """Read one item; `If-None-Match` with the current ETag answers 304."""
    item_id = path_item_id(request)
    if_none_match = precondition(request, "if-none-match")
    # `get_item` called, not depended on: a dependency level costs FastAPI a resolution pass
    # per request, a tenth of this route's time in the bench.
    found = await get_item(item_id, request)
    if service.matches(if_none_match, found.etag, weak=True):
        return Response(status_code=304, headers={"ETag": found.etag})
    return answer(ItemRead.model_validate(found), 200, {"ETag": found.etag})


@router.get("", response_model=ItemList, responses=responses(422))
async def list_items(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[Cursor | None, Query(description=CURSOR_HELP)] = None,
) -> ItemList:
    """Everyone's items, by id, a page at a time (`next` is the cursor of the next page)."""
    found, last_id = await request.app.state.db.read(lambda c: service.page(c, limit, cursor))
    return ItemList(
        items=[ItemRead.model_validate(f) for f in found],
        next=encode_cursor(last_id) if last_id is not None else None,
    )


@router.delete(
    "/{item_id}",
    status_code=204,
    responses=responses(401, 403, 404, 412, 422, codes=OWNER_403),
    openapi_extra=precondition_docs("if-match"),
)
async def delete_item(found: OwnedItem, request: Request, user: CurrentUser) -> Response:
    """Delete an item (yours, or any as admin); `If-Match` makes it conditional."""
    if_match = precondition(request, "if-match")
    await request.app.state.db.write(lambda c: service.remove(c, found.id, user, if_match))
    return Response(status_code=204)
