"""Pydantic shapes of the administration routes."""

import base64
import binascii
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from authgate.accounts.schemas import UserRead
from authgate.origin import MAX_LENGTH, ORIGIN_PATTERN, normalise_origin

# The pattern is the whole check (`normalise_origin` then only writes the browser's form).
Origin = Annotated[
    str,
    StringConstraints(max_length=MAX_LENGTH, pattern=ORIGIN_PATTERN),
    Field(description="`scheme://host[:port]` (http or https), host names in ASCII (punycode)"),
    AfterValidator(normalise_origin),
]
MAX_ID = 2**63 - 1


def encode_cursor(user_id: int) -> str:
    """The `next` cursor of the user list: the last id of a page, opaque to clients."""
    return base64.urlsafe_b64encode(str(user_id).encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> int:
    """The user id a cursor carries; ValueError (a 422) for anything we did not hand out."""
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a cursor from this API") from None
    if not 0 <= value <= MAX_ID:
        raise ValueError("not a cursor from this API")
    return value


# The id after which a page starts, decoded from `?cursor=` at validation time.
UserCursor = Annotated[str, StringConstraints(max_length=200), AfterValidator(decode_cursor)]


class UserList(BaseModel):
    users: list[UserRead]
    next: str | None


class SessionsEnded(BaseModel):
    ended: int  # how many live sessions ended


class UserAdminUpdate(BaseModel):
    # Strict: `0`, `1`, `"yes"` or `"t"` must not grant or take away an account's rights.
    model_config = ConfigDict(extra="forbid", strict=True)

    is_active: bool | None = None
    is_admin: bool | None = None


class OriginCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"origin": "https://app.example.com"}]}
    )

    origin: Origin


class OriginRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    origin: str
    created_at: datetime


class OriginList(BaseModel):
    static: list[str]
    dynamic: list[str]
