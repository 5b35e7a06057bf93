"""Shapes and field rules that several domains share."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StringConstraints

# Marks the schema of a new password: `openapi.document_password_policy` gives it the bounds of
# the app's policy, a setting.
PASSWORD_POLICY_MARK = "x-password-policy"


# RFC 3339's date-time with an offset (JSON schema's `date-time`), years 1000 to 8999: every
# such time, in any offset, is one Python and the databases can hold.
DATE_TIME_PATTERN = (
    r"^[1-8][0-9]{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)  # ValueError for 30 February


# A moment as the schema says it: never a bare number, a date alone or a time without offset.
Instant = Annotated[
    str,
    StringConstraints(pattern=DATE_TIME_PATTERN),
    Field(json_schema_extra={"format": "date-time"}),
    AfterValidator(_utc),
]


def json_integer(value: Any) -> Any:
    """A pydantic before-validator: JSON schema's integer, a number without a fractional part
    (`6.0` is 6), never a boolean or a string."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("Input should be a valid integer")
    return value


JsonInteger = Annotated[int, BeforeValidator(json_integer)]


class Message(BaseModel):
    message: str


# Text without control characters (C0 and DEL), as a pattern: the check and its schema in one.
PRINTABLE_PATTERN = r"^[^\u0000-\u001F\u007F]*$"


def exactly_one_of(*names: str, **typed: str) -> dict[str, Any]:
    """The JSON schema of "exactly one of `names` is given" (a null counts as not given), for
    a model's `json_schema_extra`; `check_exactly_one` is the same rule at validation. The
    `names` are strings; `typed` names others with their JSON type (`passkey="object"`)."""
    types = {name: "string" for name in names} | typed
    return {"oneOf": [{"required": [name], "properties": {name: {"type": kind}}}
                      for name, kind in types.items()]}  # fmt: skip


def check_exactly_one(model: BaseModel, *names: str) -> None:
    if sum(getattr(model, name) is not None for name in names) != 1:
        raise ValueError(f"send exactly one of {', '.join(names)}")
