"""Shapes and field rules that several domains share."""

from typing import Any

from pydantic import BaseModel

# Marks the schema of a new password: `openapi.document_password_policy` gives it the bounds of
# the app's policy, a setting.
PASSWORD_POLICY_MARK = "x-password-policy"


class Message(BaseModel):
    message: str


def printable(value: str) -> str:
    """A pydantic after-validator: text without control characters."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("control characters are not allowed")
    return value


def exactly_one_of(*names: str) -> dict[str, Any]:
    """The JSON schema of "exactly one of `names` is given" (a null counts as not given), for
    a model's `json_schema_extra`; `check_exactly_one` is the same rule at validation."""
    return {"oneOf": [{"required": [name], "properties": {name: {"type": "string"}}}
                      for name in names]}  # fmt: skip


def check_exactly_one(model: BaseModel, *names: str) -> None:
    if sum(getattr(model, name) is not None for name in names) != 1:
        raise ValueError(f"send exactly one of {', '.join(names)}")
