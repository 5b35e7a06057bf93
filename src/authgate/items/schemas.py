"""Pydantic shapes of items."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from authgate.accounts.schemas import _printable

ITEM_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
MAX_SIZE = 2**31 - 1


class ItemWrite(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]
    size: Annotated[int, Field(ge=0, le=MAX_SIZE, strict=False)]


class ItemRead(BaseModel):
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
