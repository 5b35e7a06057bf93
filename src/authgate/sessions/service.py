"""Opening, listing and ending log-in sessions (cookie and token alike)."""

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authgate.accounts.models import User
from authgate.epochs import Epoch, Epochs
from authgate.sessions.models import LoginSession

USER_AGENT_MAX = 512


def hash_secret(secret: str) -> str:
    # The secret has 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


async def open_session(
    db: AsyncSession,
    user: User,
    kind: str,
    *,
    now: datetime,
    lifetime: int,
    user_agent: str,
    ip: str,
) -> tuple[LoginSession, str]:
    """A new session for `user`; returns it with its secret (the cookie value, for cookies)."""
    secret = secrets.token_urlsafe(32)
    session = LoginSession(
        id=uuid.uuid4(),
        user_id=user.id,
        kind=kind,
        secret_hash=hash_secret(secret) if kind == "cookie" else None,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=lifetime),
        user_agent=user_agent[:USER_AGENT_MAX],
        ip=ip,
    )
    db.add(session)
    await db.commit()
    return session, secret


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
