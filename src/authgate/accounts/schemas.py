"""Pydantic shapes of users, in and out."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from authgate.accounts.policy import (
    EMAIL_MAX_LENGTH,
    EMAIL_PATTERN,
    PASSWORD_MAX_LENGTH,
    USERNAME_PATTERN,
    is_comparable,
)
from authgate.schemas import PASSWORD_POLICY_MARK, PRINTABLE_PATTERN


def _comparable(value: str) -> str:
    if not is_comparable(value):
        raise ValueError("the username's normalised form is not a valid username")
    return value


Username = Annotated[
    str,
    StringConstraints(pattern=USERNAME_PATTERN, max_length=150),
    Field(description="Compared without regard to case or compatibility forms (NFKC), which "
          "must leave it a name of the same alphabet: `ａｌｉｃｅ` is `alice`."),
    AfterValidator(_comparable),
]  # fmt: skip


def _domain_in_lower_case(value: str) -> str:
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


Password = Annotated[str, Field(min_length=1, max_length=4096)]
# A password being chosen. The policy (`accounts.policy.check_password`) refuses it with 422
# `password_policy`: its bounds are documented here, the minimum (a setting) by the app
# (`openapi.document_password_policy`); the rules no schema can say, in the description.
NewPassword = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4096,
        description="Not a commonly used password, nor the username.",
        json_schema_extra={PASSWORD_POLICY_MARK: True, "maxLength": PASSWORD_MAX_LENGTH},
    ),
]
# An address as an HTML form's e-mail field takes it, with a dot in the domain: the pattern is
# the whole check, so that the schema says exactly what is accepted. (No `format: email`: each
# validator reads it its own way, some with length limits on the part before the @.)
Email = Annotated[
    str,
    StringConstraints(max_length=EMAIL_MAX_LENGTH, pattern=EMAIL_PATTERN),
    AfterValidator(_domain_in_lower_case),
]
Name = Annotated[str, StringConstraints(max_length=150, pattern=PRINTABLE_PATTERN)]
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


EXAMPLE = {"username": "alice", "password": "correct-horse-battery"}


class UserCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**EXAMPLE, "email": "alice@example.com"}]}
    )

    username: Username
    password: NewPassword
    email: Email | None = None
    first_name: Name = ""
    last_name: Name = ""


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email | None = None
    first_name: Name | None = None
    last_name: Name | None = None


class Credentials(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    username: LoginName
    password: Password


class PasswordChange(BaseModel):
    old_password: Password
    new_password: NewPassword
