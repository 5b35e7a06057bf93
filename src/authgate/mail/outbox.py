"""The outbox's units of work: queue a mail, claim due ones under a lease, record the outcome.

Scheduling uses the real time (`authgate.db.utcnow`), not the app's clock: it is about when a
server may be tried again, not about what a token's lifetime says.
"""

from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Connection, Row, func, insert, or_, select, update

from authgate.db import utcnow
from authgate.mail.models import OutboxMail

OUTBOX = OutboxMail.__table__
ERROR_MAX = 500
_PENDING = (OUTBOX.c.sent_at.is_(None), OUTBOX.c.failed_at.is_(None))


def enqueue_in(connection: Connection, kind: str, message: EmailMessage) -> int:
    """Queue `message` in the caller's transaction: it is sent if, and only if, that commits."""
    now = utcnow()
    row = {
        "kind": kind,
        "recipient": message["To"],
        "message": message.as_string(),
        "created_at": now,
        "next_attempt_at": now,
        "attempts": 0,
    }
    return connection.execute(insert(OUTBOX).returning(OUTBOX.c.id), row).scalar_one()


def count_pending(connection: Connection) -> int:
    """Mails not sent yet (and not refused for good): the outbox's depth."""
    return connection.execute(select(func.count()).where(*_PENDING)).scalar_one()


def next_due_in(connection: Connection) -> datetime | None:
    """When the soonest pending mail may be claimed (past: now), or None when none is pending."""
    unclaimed = select(func.min(OUTBOX.c.next_attempt_at)).where(
        *_PENDING, OUTBOX.c.claimed_until.is_(None)
    )
    # A claimed mail is due again when its lease lapses (its sender died mid-way).
    leased = select(func.min(OUTBOX.c.claimed_until)).where(
        *_PENDING, OUTBOX.c.claimed_until.is_not(None)
    )
    times = [connection.execute(unclaimed).scalar(), connection.execute(leased).scalar()]
    known = [time for time in times if time is not None]
    return min(known) if known else None


def claim_in(connection: Connection, owner: str, *, lease: float, limit: int) -> list[Row[Any]]:
    """Take up to `limit` due mails for `owner` until the lease ends: nobody else sends them.

    One UPDATE whose subquery picks the rows. On PostgreSQL the subquery locks them with
    `FOR UPDATE SKIP LOCKED`, so concurrent senders each get other rows without waiting; on
    SQLite a write transaction is `BEGIN IMMEDIATE`, so claims are serialised anyway.
    """
    now = utcnow()
    due = (
        select(OUTBOX.c.id)
        .where(
            *_PENDING,
            OUTBOX.c.next_attempt_at <= now,
            or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until <= now),
        )
        .order_by(OUTBOX.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(due.scalar_subquery()))
        .values(
            claimed_by=owner,
            claimed_until=now + timedelta(seconds=lease),
            attempts=OUTBOX.c.attempts + 1,
        )
        .returning(
            OUTBOX.c.id,
            OUTBOX.c.recipient,
            OUTBOX.c.message,
            OUTBOX.c.attempts,
            OUTBOX.c.claimed_until,
        )
    )
    return sorted(connection.execute(claim).all(), key=lambda row: row.id)


def mark_sent_in(connection: Connection, owner: str, mail_id: int) -> None:
    """Record a delivery; the message, which holds a live link, is not kept."""
    connection.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == mail_id, OUTBOX.c.claimed_by == owner)
        .values(sent_at=utcnow(), message="", claimed_by=None, claimed_until=None)
    )


def mark_failed_in(
    connection: Connection, owner: str, mail_id: int, error: str, *, retry_in: float | None
) -> None:
    """Record a failed attempt: try again in `retry_in` seconds, or never (None)."""
    now = utcnow()
    values: dict[str, Any] = {"claimed_by": None, "claimed_until": None}
    values["last_error"] = error[:ERROR_MAX]
    if retry_in is None:
        values.update(failed_at=now, message="")
    else:
        values["next_attempt_at"] = now + timedelta(seconds=retry_in)
    connection.execute(
        update(OUTBOX).where(OUTBOX.c.id == mail_id, OUTBOX.c.claimed_by == owner).values(values)
    )


def release_in(connection: Connection, owner: str, ids: list[int]) -> None:
    """Give back claimed mails not tried (shutting down, or their lease is nearly over)."""
    connection.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(ids), OUTBOX.c.claimed_by == owner)
        .values(claimed_by=None, claimed_until=None, attempts=OUTBOX.c.attempts - 1)
    )


def release_owned_in(connection: Connection, owner: str) -> None:
    """Give back every unsent mail `owner` holds (its sender is stopping)."""
    connection.execute(
        update(OUTBOX)
        .where(OUTBOX.c.claimed_by == owner, *_PENDING)
        .values(claimed_by=None, claimed_until=None)
    )
