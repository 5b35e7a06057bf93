"""Importing users from a Django `manage.py dumpdata auth.User` JSON export.

Users keep their usernames, e-mail addresses, names, join dates, active and staff flags (staff
becomes admin) and their password hashes: Django's `pbkdf2_sha256` verifies as it is and is
upgraded to Argon2id at the first log-in. The whole file is checked before anything is written,
and everything is written in one transaction: a malformed file imports nothing.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator
from sqlalchemy import Connection, insert, select

from authgate.accounts.policy import email_key, username_key
from authgate.accounts.schemas import Name, Username
from authgate.accounts.service import USER

# Django's marker of an unusable password: matches nothing, the user resets it.
UNUSABLE_PASSWORD = "!"


class ImportFormatError(ValueError):
    """The file is not a usable Django user export; the message says where and why."""


class DjangoUserFields(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: Username
    password: Annotated[str, Field(max_length=255)] = ""
    email: EmailStr | None = None
    first_name: Name = ""
    last_name: Name = ""
    is_active: bool = True
    is_staff: bool = False
    date_joined: datetime | None = None

    @field_validator("email", mode="before")
    @classmethod
    def blank_is_none(cls, value: object) -> object:
        return value or None  # Django stores "no e-mail" as ""


class DjangoRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str
    fields: DjangoUserFields

    @field_validator("model")
    @classmethod
    def is_user_model(cls, value: str) -> str:
        if not value.lower().endswith(".user"):
            raise ValueError(f"a {value!r} record, not a user (export with dumpdata auth.User)")
        return value


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # the name exists already
    without_email: list[str] = field(default_factory=list)  # the address was taken
    unusable_password: list[str] = field(default_factory=list)  # a hash authgate cannot verify


def parse_export(raw: bytes) -> list[DjangoUserFields]:
    """Every user of the export, or ImportFormatError naming the first problem."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise ImportFormatError("expected a JSON list of records, as dumpdata writes it")
    users = []
    for index, record in enumerate(data):
        try:
            users.append(DjangoRecord.model_validate(record).fields)
        except ValidationError as exc:
            raise ImportFormatError(f"record {index + 1}: {_first_problem(exc)}") from None
    return users


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]


def import_users(connection: Connection, users: list[DjangoUserFields]) -> ImportReport:
    """Add the users whose names are free, in one unit of work; report what happened."""
    report = ImportReport()
    rows: list[dict[str, Any]] = []
    taken_names = set(connection.scalars(select(USER.c.username_key)))
    taken_emails = set(
        connection.scalars(select(USER.c.email_key).where(USER.c.email_key.is_not(None)))
    )
    for fields in users:
        name_key = username_key(fields.username)
        if name_key in taken_names:
            report.skipped.append(fields.username)
            continue
        taken_names.add(name_key)
        mail_key = email_key(fields.email)
        if mail_key in taken_emails:
            report.without_email.append(fields.username)
            mail_key = None
        elif mail_key:
            taken_emails.add(mail_key)
        hashed = _password_hash(fields.password)
        if hashed is None:
            report.unusable_password.append(fields.username)
        rows.append(_user(fields, name_key, mail_key, hashed or UNUSABLE_PASSWORD))
        report.imported.append(fields.username)
    if rows:
        connection.execute(insert(USER), rows)
    return report


def _password_hash(django_hash: str) -> str | None:
    """The hash as authgate stores it, or None when authgate cannot verify it."""
    if django_hash.startswith("pbkdf2_sha256$"):
        return django_hash
    # Django prefixes standard hashes with its hasher's name: drop it and they verify as they are.
    for prefix, standard in (("argon2$argon2", "$argon2"), ("bcrypt$$2", "$2")):
        if django_hash.startswith(prefix):
            return standard + django_hash[len(prefix) :]
    return None  # unusable ("!..."), unsalted, bcrypt_sha256...: the user resets the password


def _user(
    fields: DjangoUserFields, name_key: str, mail_key: str | None, hashed: str
) -> dict[str, Any]:
    joined = fields.date_joined or datetime.now(UTC)
    return {
        "username": fields.username,
        "username_key": name_key,
        "email": fields.email if mail_key else None,
        "email_key": mail_key,
        "first_name": fields.first_name,
        "last_name": fields.last_name,
        "password_hash": hashed,
        "is_active": fields.is_active,
        "is_admin": fields.is_staff,
        "email_verified": False,
        # Django writes naive times when USE_TZ=False: those are taken as UTC.
        "date_joined": joined if joined.tzinfo else joined.replace(tzinfo=UTC),
    }
