"""What a security event is: its type, and the request it came from."""

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class EventType(enum.StrEnum):
    SIGNUP = "signup"
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    SESSION_ENDED = "session_ended"
    REFRESH_REUSED = "refresh_reused"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    PASSWORD_RESET = "password_reset"
    EMAIL_VERIFICATION_SENT = "email_verification_sent"
    EMAIL_VERIFIED = "email_verified"
    USER_UPDATED = "user_updated"  # an administrator's change
    USER_DELETED = "user_deleted"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True, slots=True)
class EventContext:
    """Where a change comes from: the request (time, client, request id) and, when someone is
    logged in, who (the actor) through which session. Passed from the router into the unit of
    work that makes the change, which records its event with it."""

    at: datetime | None = None  # None: the time of recording (command line)
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""
    actor_id: int | None = None
    session_id: uuid.UUID | None = None


NO_CONTEXT = EventContext()


@dataclass(frozen=True, slots=True)
class Event:
    type: EventType
    context: EventContext
    user_id: int | None = None
    session_id: uuid.UUID | None = None
    detail: dict[str, Any] = field(default_factory=dict)
