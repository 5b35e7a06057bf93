"""The user as the rest of the service sees it: a frozen snapshot, not a database row."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AuthUser:
    """The authenticated user as routes see it."""

    id: int
    username: str
    email: str | None
    first_name: str
    last_name: str
    is_admin: bool
    is_active: bool
    email_verified: bool
    date_joined: datetime

    @classmethod
    def of(cls, row: Any) -> "AuthUser":
        """The snapshot of any object or row that has the user's columns."""
        return cls(**{name: getattr(row, name) for name in cls.__slots__})
