"""Pydantic shapes of users, in and out."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from authgate.accounts.policy import USERNAME_PATTERN, is_comparable
from authgate.schemas import printable


def _comparable(value: str) -> str:
    if not is_comparable(value):
        raise ValueError("the username's normalised form is not a valid username")
    return value


Username = Annotated[
    str, StringConstraints(pattern=USERNAME_PATTERN, max_length=150), AfterValidator(_comparable)
]
Password = Annotated[str, Field(min_length=1, max_length=4096)]
Name = Annotated[str, StringConstraints(max_length=150), AfterValidator(printable)]
LoginName = Annotated[str, Field(min_length=1, max_length=600)]


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    email: str | None
    first_name: str
    last_name: str
    is_admin: bool
    email_verified: bool
    date_joined: datetime


class UserCreate(BaseModel):
    username: Username
    password: Password
    email: EmailStr | None = None
    first_name: Name = ""
    last_name: Name = ""


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = None
    first_name: Name | None = None
    last_name: Name | None = None


class Credentials(BaseModel):
    username: LoginName
    password: Password


class PasswordChange(BaseModel):
    old_password: Password
    new_password: Password
