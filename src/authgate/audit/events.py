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
    # Second factors, passkeys and step-up (issue 13).
    TOTP_ENABLED = "totp_enabled"
    TOTP_DISABLED = "totp_disabled"
    RECOVERY_CODES_REGENERATED = "recovery_codes_regenerated"
    RECOVERY_CODE_USED = "recovery_code_used"
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_DELETED = "passkey_deleted"
    MFA_SUCCEEDED = "mfa_succeeded"  # the second step of a log-in
    MFA_FAILED = "mfa_failed"
    PASSKEY_LOGIN_FAILED = "passkey_login_failed"  # a success is a login_succeeded
    REAUTHENTICATED = "reauthenticated"
    REAUTHENTICATION_FAILED = "reauthentication_failed"


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
