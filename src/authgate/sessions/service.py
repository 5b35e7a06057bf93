"""Opening, listing and ending log-in sessions (cookie and token alike), as units of work.

Ending a session announces it on the change feed, so that every process drops its cached
state: the session's cookie and access tokens fail on their very next request, everywhere.
"""

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from authgate.accounts import service as accounts
from authgate.accounts.snapshot import AuthUser
from authgate.changes import announce, session_ended, user_changed
from authgate.db import Database
from authgate.sessions.models import LoginSession, RefreshToken, RevokedRefreshToken
from authgate.units import Prepared

USER_AGENT_MAX = 512
SESSION = LoginSession.__table__
REFRESH, REVOKED = RefreshToken.__table__, RevokedRefreshToken.__table__
SESSION_COLUMNS = (
    "id", "user_id", "kind", "secret_hash", "created_at", "last_seen_at", "expires_at",
    "ended_at", "user_agent", "ip", "auth_time", "amr",
)  # fmt: skip
INSERT_SESSION = Prepared(insert(SESSION), insert=SESSION_COLUMNS)


def hash_secret(secret: str) -> str:
    # The secret has 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


async def open_session(
    db: Database,
    user_id: int,
    kind: str,
    *,
    now: datetime,
    lifetime: int,
    user_agent: str,
    ip: str,
    absolute: int | None = None,
    amr: str = "pwd",
) -> tuple[uuid.UUID, str]:
    """A new session for `user_id`; returns its id and secret (the cookie value, for cookies)."""
    row, secret = session_row(
        user_id, kind, now=now, lifetime=lifetime, user_agent=user_agent, ip=ip,
        absolute=absolute, amr=amr,
    )  # fmt: skip
    await db.write(lambda connection: INSERT_SESSION.run(connection, row))
    return row["id"], secret


def session_row(
    user_id: int,
    kind: str,
    *,
    now: datetime,
    lifetime: int,
    user_agent: str,
    ip: str,
    absolute: int | None = None,
    amr: str = "pwd",
) -> tuple[dict[str, Any], str]:
    """The `session` row of a new log-in, to insert with `INSERT_SESSION`, and its secret.

    `absolute` (seconds) caps the first expiry as it caps every later one: see `deadline`.
    """
    if absolute is not None:
        lifetime = min(lifetime, absolute)
    secret = secrets.token_urlsafe(32)
    row = {
        "id": uuid.uuid4(),
        "user_id": user_id,
        "kind": kind,
        "secret_hash": hash_secret(secret) if kind == "cookie" else None,
        "created_at": now,
        "last_seen_at": now,
        "expires_at": now + timedelta(seconds=lifetime),
        "ended_at": None,
        "user_agent": user_agent[:USER_AGENT_MAX],
        "ip": ip,
        "auth_time": now,
        "amr": amr,
    }
    return row, secret


def end_sessions(connection: Connection, ids: list[uuid.UUID], now: datetime) -> int:
    """End the live sessions among `ids`; returns how many ended."""
    result = connection.execute(
        update(SESSION)
        .where(SESSION.c.id.in_(ids), SESSION.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    announce(connection, *(session_ended(session_id) for session_id in ids))
    return result.rowcount or 0


def end_user_sessions(
    connection: Connection, user_id: int, now: datetime, *, keep: uuid.UUID | None = None
) -> int:
    """End every live session of `user_id` except `keep`; returns how many ended."""
    statement = update(SESSION).where(SESSION.c.user_id == user_id, SESSION.c.ended_at.is_(None))
    if keep is not None:
        statement = statement.where(SESSION.c.id != keep)
    ended = connection.execute(statement.values(ended_at=now)).rowcount or 0
    announce(connection, user_changed(user_id))
    return ended


def end_own_session(
    connection: Connection, user_id: int, session_id: uuid.UUID, now: datetime
) -> bool:
    """End `session_id` if it is a live session of `user_id`; False when it is not one."""
    result = connection.execute(
        update(SESSION)
        .where(
            SESSION.c.id == session_id,
            SESSION.c.user_id == user_id,
            SESSION.c.ended_at.is_(None),
            SESSION.c.expires_at > now,
        )
        .values(ended_at=now)
    )
    if not result.rowcount:
        return False
    announce(connection, session_ended(session_id))
    return True


def live_sessions(connection: Connection, user_id: int, now: datetime) -> list[Any]:
    """The live sessions of `user_id`, newest first."""
    return list(
        connection.execute(
            select(SESSION)
            .where(
                SESSION.c.user_id == user_id,
                SESSION.c.ended_at.is_(None),
                SESSION.c.expires_at > now,
            )
            .order_by(SESSION.c.created_at.desc())
        )
    )


def deadline(created_at: datetime, absolute: int) -> datetime:
    """When a session opened at `created_at` ends however active it stays.

    A stolen session that its thief keeps busy would otherwise live for ever: activity slides
    the expiry (cookies) and refresh rotation hands out new tokens, but never past this.
    """
    return created_at + timedelta(seconds=absolute)


def extend_session(
    connection: Connection,
    session_id: uuid.UUID,
    now: datetime,
    lifetime: int,
    *,
    not_after: datetime | None = None,
) -> datetime:
    """Slide a session's expiry to `now + lifetime`, never past `not_after` (activity renewal);
    returns the new expiry."""
    expires_at = now + timedelta(seconds=lifetime)
    if not_after is not None:
        expires_at = min(expires_at, not_after)
    connection.execute(
        update(SESSION)
        .where(SESSION.c.id == session_id, SESSION.c.ended_at.is_(None))
        .values(expires_at=expires_at, last_seen_at=now)
    )
    return expires_at


def delete_account(connection: Connection, actor: AuthUser, user_id: int, now: datetime) -> None:
    """Delete an account (`accounts.service.delete_account`), remembering its unexpired refresh
    tokens first: the deletion cascades to them, and presented later they must still say that
    their session was ended (`token_revoked`), not that they never existed."""
    connection.execute(delete(REVOKED).where(REVOKED.c.expires_at <= now))  # expired: purged
    live = (
        select(REFRESH.c.token_hash, REFRESH.c.expires_at)
        .join(SESSION, SESSION.c.id == REFRESH.c.session_id)
        .where(SESSION.c.user_id == user_id, REFRESH.c.expires_at > now)
    )
    connection.execute(insert(REVOKED).from_select(["token_hash", "expires_at"], live))
    accounts.delete_account(connection, actor, user_id)  # a refusal rolls all of it back


def is_revoked_refresh(connection: Connection, token_hash: str) -> bool:
    """Whether `token_hash` was a refresh token of an account since deleted."""
    found = connection.execute(
        select(REVOKED.c.token_hash).where(REVOKED.c.token_hash == token_hash)
    )
    return found.first() is not None
