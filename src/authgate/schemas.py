"""Shapes and field rules that several domains share."""

from pydantic import BaseModel


class Message(BaseModel):
    message: str


def printable(value: str) -> str:
    """A pydantic after-validator: text without control characters."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("control characters are not allowed")
    return value
