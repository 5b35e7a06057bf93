"""Pydantic shapes of the administration routes."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from authgate.accounts.schemas import UserRead
from authgate.origin import normalise_origin

Origin = Annotated[str, AfterValidator(normalise_origin)]


class UserList(BaseModel):
    users: list[UserRead]
    next: str | None


class UserAdminUpdate(BaseModel):
    # Strict: `0`, `1`, `"yes"` or `"t"` must not grant or take away an account's rights.
    model_config = ConfigDict(extra="forbid", strict=True)

    is_active: bool | None = None
    is_admin: bool | None = None


class OriginCreate(BaseModel):
    origin: Origin


class OriginRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    origin: str
    created_at: datetime


class OriginList(BaseModel):
    static: list[str]
    dynamic: list[str]
