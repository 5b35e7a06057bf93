"""Opening, listing and ending log-in sessions (cookie and token alike)."""

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authgate.db import Database
from authgate.epochs import Epoch, Epochs
from authgate.sessions.models import LoginSession
from authgate.units import Prepared

USER_AGENT_MAX = 512
SESSION = LoginSession.__table__
SESSION_COLUMNS = (
    "id", "user_id", "kind", "secret_hash", "created_at", "last_seen_at", "expires_at",
    "ended_at", "user_agent", "ip",
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
) -> tuple[uuid.UUID, str]:
    """A new session for `user_id`; returns its id and secret (the cookie value, for cookies)."""
    row, secret = session_row(
        user_id, kind, now=now, lifetime=lifetime, user_agent=user_agent, ip=ip
    )
    await db.write(lambda connection: INSERT_SESSION.run(connection, row))
    return row["id"], secret


def session_row(
    user_id: int, kind: str, *, now: datetime, lifetime: int, user_agent: str, ip: str
) -> tuple[dict[str, Any], str]:
    """The `session` row of a new log-in, to insert with `INSERT_SESSION`, and its secret."""
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
    }
    return row, secret


def end_sessions_in(connection: Connection, ids: list[uuid.UUID], now: datetime) -> int:
    """End the live sessions among `ids` (in a unit of work); returns how many ended."""
    result = connection.execute(
        update(SESSION)
        .where(SESSION.c.id.in_(ids), SESSION.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    return result.rowcount or 0


async def end_session(
    db: AsyncSession, epochs: Epochs, session_id: uuid.UUID, now: datetime
) -> bool:
    """End one session; True when it was live."""
    result = await db.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    await db.commit()
    epochs.bump(Epoch.AUTH)
    return bool(result.rowcount)


async def end_user_sessions(
    db: AsyncSession,
    epochs: Epochs,
    user_id: int,
    now: datetime,
    *,
    keep: uuid.UUID | None = None,
) -> int:
    """End every live session of `user_id` except `keep`; returns how many ended."""
    statement = update(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.ended_at.is_(None)
    )
    if keep is not None:
        statement = statement.where(LoginSession.id != keep)
    result = await db.execute(statement.values(ended_at=now))
    await db.commit()
    epochs.bump(Epoch.AUTH)
    return result.rowcount or 0


async def end_own_session(
    db: AsyncSession, epochs: Epochs, user_id: int, session_id: uuid.UUID, now: datetime
) -> bool:
    """End `session_id` if it is a live session of `user_id`; False when it is not one."""
    result = await db.execute(
        update(LoginSession)
        .where(
            LoginSession.id == session_id,
            LoginSession.user_id == user_id,
            LoginSession.ended_at.is_(None),
            LoginSession.expires_at > now,
        )
        .values(ended_at=now)
    )
    await db.commit()
    if result.rowcount:
        epochs.bump(Epoch.AUTH)
    return bool(result.rowcount)


async def live_sessions(db: AsyncSession, user_id: int, now: datetime) -> list[LoginSession]:
    rows = await db.scalars(
        select(LoginSession)
        .where(
            LoginSession.user_id == user_id,
            LoginSession.ended_at.is_(None),
            LoginSession.expires_at > now,
        )
        .order_by(LoginSession.created_at.desc())
    )
    return list(rows)


async def get_user_session(
    db: AsyncSession, user_id: int, session_id: uuid.UUID
) -> LoginSession | None:
    session = await db.get(LoginSession, session_id)
    return session if session is not None and session.user_id == user_id else None


async def extend_session(
    db: AsyncSession, session_id: uuid.UUID, now: datetime, lifetime: int
) -> datetime:
    """Slide a session's expiry to `now + lifetime` (activity renewal); returns the new expiry."""
    expires_at = now + timedelta(seconds=lifetime)
    await db.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
        .values(expires_at=expires_at, last_seen_at=now)
    )
    await db.commit()
    return expires_at


def end_user_sessions_in(connection: Connection, user_id: int, now: datetime) -> int:
    """End every live session of `user_id` (in a unit of work); returns how many ended."""
    result = connection.execute(
        update(SESSION)
        .where(SESSION.c.user_id == user_id, SESSION.c.ended_at.is_(None))
        .values(ended_at=now)
    )
    return result.rowcount or 0
