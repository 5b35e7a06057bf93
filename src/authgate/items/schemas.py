"""Pydantic shapes of items, and the opaque cursor of the item list."""

import base64
import binascii
import re
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from authgate.schemas import PRINTABLE_PATTERN, json_integer

# 1-64 of [A-Za-z0-9._-], but not `.` or `..` (path segments a client or proxy would resolve).
# Spelt without a lookahead so that every regex engine reading the OpenAPI schema can use it.
ITEM_ID_PATTERN = (
    r"^(?:[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}"
    r"|\.[A-Za-z0-9_-][A-Za-z0-9._-]{0,62}"
    r"|\.\.[A-Za-z0-9._-]{1,62})$"
)
ITEM_ID = re.compile(ITEM_ID_PATTERN)
MAX_SIZE = 2**31 - 1


ItemName = Annotated[str, Field(min_length=1, max_length=200, pattern=PRINTABLE_PATTERN)]
ItemSize = Annotated[int, Field(ge=0, le=MAX_SIZE)]


class ItemWrite(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Fighters", "size": 6}]})

    name: ItemName
    # A JSON number without a fraction, as the schema's `integer` says: `true` or `"6"` is not
    # a size. (Query values are parsed into ints by their own `ItemSize` parameter first.)
    size: Annotated[ItemSize, BeforeValidator(json_integer)]


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    size: int
    owner: str
    created_at: datetime
    updated_at: datetime


class ItemResult(BaseModel):
    message: str
    item: ItemRead


class ItemList(BaseModel):
    items: list[ItemRead]
    next: str | None


def encode_cursor(last_id: str) -> str:
    """The `next` cursor: the last id of a page, opaque to clients."""
    return base64.urlsafe_b64encode(last_id.encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> str:
    """The item id a cursor carries; ValueError (a 422) for anything we did not hand out."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        last_id = raw.decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a cursor from this API") from None
    if not ITEM_ID.fullmatch(last_id):
        raise ValueError("not a cursor from this API")
    return last_id


# The id after which a page starts, decoded from `?cursor=` at validation time.
Cursor = Annotated[str, StringConstraints(max_length=120), AfterValidator(decode_cursor)]
