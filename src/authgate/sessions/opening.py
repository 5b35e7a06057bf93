"""A new log-in session, cookie or token: its row made outside a unit of work, stored with its
`login_succeeded` event inside one."""

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Connection, insert

from authgate.audit import service as audit
from authgate.audit.events import NO_CONTEXT, EventContext, EventType
from authgate.sessions.models import LoginSession
from authgate.sessions.service import hash_secret
from authgate.units import Prepared

USER_AGENT_MAX = 512
SESSION_COLUMNS = (
    "id", "user_id", "kind", "secret_hash", "created_at", "last_seen_at", "expires_at",
    "ended_at", "user_agent", "ip", "auth_time", "amr",
)  # fmt: skip
INSERT_SESSION = Prepared(insert(LoginSession.__table__), insert=SESSION_COLUMNS)


class SessionOpening:
    """A new session of `user_id`: its row and its secret (the cookie value, for cookies).

    `absolute` (seconds) caps the first expiry as it caps every later one (see
    `service.deadline`); `method` names what proved the log-in when not a password alone
    (`passkey`, `totp`, `recovery_code`, `reauthenticate`...), in its event's detail.
    """

    def __init__(
        self, user_id: int | None, kind: str, *, now: datetime, lifetime: int, user_agent: str,
        ip: str, absolute: int | None = None, amr: str = "pwd",
        context: EventContext = NO_CONTEXT, method: str | None = None,
    ) -> None:  # fmt: skip
        if absolute is not None:
            lifetime = min(lifetime, absolute)
        self.secret = secrets.token_urlsafe(32)
        self.row = {
            "id": uuid.uuid4(),
            "user_id": user_id,
            "kind": kind,
            "secret_hash": hash_secret(self.secret) if kind == "cookie" else None,
            "created_at": now,
            "last_seen_at": now,
            "expires_at": now + timedelta(seconds=lifetime),
            "ended_at": None,
            "user_agent": user_agent[:USER_AGENT_MAX],
            "ip": ip,
            "auth_time": now,
            "amr": amr,
        }
        self.user_id, self.kind, self.context, self.method = user_id, kind, context, method

    @property
    def id(self) -> uuid.UUID:
        return self.row["id"]  # type: ignore[no-any-return]

    def insert(self, connection: Connection) -> None:
        INSERT_SESSION.run(connection, self.row)
        detail = {"kind": self.kind} if self.method is None else {
            "kind": self.kind, "method": self.method,
        }  # fmt: skip
        audit.record(
            connection, EventType.LOGIN_SUCCEEDED, self.context,
            user_id=self.user_id, session_id=self.id, **detail,
        )  # fmt: skip

    def insert_for(self, connection: Connection, user_id: int, amr: str | None = None) -> None:
        """`insert`, for the user that the same unit has just created or proved (made with
        `user_id` None), and with `amr` when the proof says it: a sign-up and its first
        session, or a log-in's last step and its session, are one unit of work."""
        self.user_id = self.row["user_id"] = user_id
        if amr is not None:
            self.row["amr"] = amr
        self.insert(connection)
