"""Listing, extending and ending log-in sessions (cookie and token alike), as units of work
(`opening.py` opens them).

Ending a session announces it on the change feed, so that every process drops its cached
state: the session's cookie and access tokens fail on their very next request, everywhere.
Ending sessions records their security events in the same unit of work.
"""

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from authgate.accounts import service as accounts
from authgate.accounts.snapshot import AuthUser
from authgate.audit import service as audit
from authgate.audit.events import NO_CONTEXT, Event, EventContext, EventType
from authgate.changes import announce, session_ended, user_changed
from authgate.sessions.models import LoginSession, RefreshToken, RevokedRefreshToken

SESSION = LoginSession.__table__
REFRESH, REVOKED = RefreshToken.__table__, RevokedRefreshToken.__table__


def hash_secret(secret: str) -> str:
    # The secret has 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def end_sessions(
    connection: Connection,
    ids: list[uuid.UUID],
    now: datetime,
    context: EventContext = NO_CONTEXT,
    *,
    type: EventType = EventType.LOGOUT,
    reason: str = "logout",
) -> int:
    """End the live sessions among `ids`, recording `type` for each; returns how many ended."""
    ended = connection.execute(
        update(SESSION)
        .where(SESSION.c.id.in_(ids), SESSION.c.ended_at.is_(None))
        .values(ended_at=now)
        .returning(SESSION.c.id, SESSION.c.user_id)
    ).all()
    announce(connection, *(session_ended(session_id) for session_id in ids))
    _record_ended(connection, ended, context, type, reason)
    return len(ended)


def end_user_sessions(
    connection: Connection,
    user_id: int,
    now: datetime,
    context: EventContext = NO_CONTEXT,
    *,
    keep: uuid.UUID | None = None,
    type: EventType = EventType.SESSION_ENDED,
    reason: str = "ended",
) -> int:
    """End every live session of `user_id` except `keep`; returns how many ended."""
    ended = _end_live(connection, now, keep, SESSION.c.user_id == user_id)
    announce(connection, user_changed(user_id))
    _record_ended(connection, ended, context, type, reason)
    return len(ended)


def end_all_sessions(
    connection: Connection,
    now: datetime,
    context: EventContext = NO_CONTEXT,
    *,
    keep: uuid.UUID | None = None,
    reason: str = "ended",
) -> int:
    """End every live session of every user except `keep`; returns how many ended."""
    ended = _end_live(connection, now, keep)
    # One change per user (many users make a payload too large for one message: a feed then
    # marks a gap, and every process drops its whole cache, which is what this asks for).
    announce(connection, *(user_changed(user_id) for user_id in {row.user_id for row in ended}))
    _record_ended(connection, ended, context, EventType.SESSION_ENDED, reason)
    return len(ended)


def _end_live(
    connection: Connection, now: datetime, keep: uuid.UUID | None, *where: Any
) -> list[Any]:
    """End the live sessions that match `where`, except `keep`: their ids and users."""
    statement = update(SESSION).where(SESSION.c.ended_at.is_(None), *where)
    if keep is not None:
        statement = statement.where(SESSION.c.id != keep)
    returning = statement.values(ended_at=now).returning(SESSION.c.id, SESSION.c.user_id)
    return list(connection.execute(returning).all())


def _record_ended(
    connection: Connection, ended: list[Any], context: EventContext, type: EventType, reason: str
) -> None:
    audit.record_all(
        connection,
        (Event(type, context, row.user_id, row.id, {"reason": reason}) for row in ended),
    )


def end_own_session(
    connection: Connection,
    user_id: int,
    session_id: uuid.UUID,
    now: datetime,
    context: EventContext = NO_CONTEXT,
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
    # Ending the session making the request is a log-out; another device's, an ended session.
    own = session_id == context.session_id
    audit.record(
        connection, EventType.LOGOUT if own else EventType.SESSION_ENDED, context,
        user_id=user_id, session_id=session_id, reason="logout" if own else "ended_by_user",
    )  # fmt: skip
    return True


def count_live_sessions(connection: Connection, now: datetime) -> int:
    """How many sessions are live now, of every user."""
    live = select(func.count()).where(SESSION.c.ended_at.is_(None), SESSION.c.expires_at > now)
    return connection.execute(live).scalar_one()


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


def delete_account(
    connection: Connection, actor: AuthUser, user_id: int, now: datetime, context: EventContext
) -> None:
    """Delete an account (`accounts.delete_account`): the end of each live session it had is
    recorded (the database's cascade would delete them without a word), and its unexpired
    refresh tokens are remembered, so that presented later they still say their session was
    ended (`token_revoked`), not that they never existed."""
    accounts.check_may_delete(actor, user_id)
    end_user_sessions(connection, user_id, now, context, reason="user_deleted")
    connection.execute(delete(REVOKED).where(REVOKED.c.expires_at <= now))  # expired: purged
    live = (
        select(REFRESH.c.token_hash, REFRESH.c.expires_at)
        .join(SESSION, SESSION.c.id == REFRESH.c.session_id)
        .where(SESSION.c.user_id == user_id, REFRESH.c.expires_at > now)
    )
    connection.execute(insert(REVOKED).from_select(["token_hash", "expires_at"], live))
    accounts.delete_account(connection, actor, user_id, context)


def is_revoked_refresh(connection: Connection, token_hash: str) -> bool:
    """Whether `token_hash` was a refresh token of an account since deleted."""
    found = connection.execute(
        select(REVOKED.c.token_hash).where(REVOKED.c.token_hash == token_hash)
    )
    return found.first() is not None
