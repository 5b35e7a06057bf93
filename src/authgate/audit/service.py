"""Recording security events (a unit, inside the change's own transaction), reading them
back newest first a page at a time, and forgetting them after the retention period.

An event is written in the same unit of work as the change it records: it commits with the
change or rolls back with it. Its log line is written once the unit has committed.
"""

import base64
import binascii
import json
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from authgate import logs
from authgate.audit.errors import BadCursor
from authgate.audit.events import Event, EventContext, EventType
from authgate.audit.models import AuditEvent
from authgate.db import utcnow
from authgate.units import Prepared, after_commit

EVENT = AuditEvent.__table__
COLUMNS = ("at", "type", "user_id", "session_id", "ip", "user_agent", "request_id", "detail")
_INSERT = Prepared(insert(EVENT), insert=COLUMNS)
USER_AGENT_MAX = 512
MAX_ID = 2**63 - 1
log = logging.getLogger("authgate.audit")


def record(
    connection: Connection,
    type: EventType,
    context: EventContext,
    *,
    user_id: int | None = None,
    session_id: uuid.UUID | None = None,
    **detail: Any,
) -> None:
    """Store one event in the unit of work running on `connection`."""
    record_all(connection, [Event(type, context, user_id, session_id, detail)])


def record_all(connection: Connection, events: Iterable[Event]) -> None:
    """Store `events` in the unit running on `connection`; log them once it commits."""
    rows = [_row(event) for event in events]
    for row in rows:
        _INSERT.run(connection, row)
    after_commit(connection, lambda: log_events(rows))


def _row(event: Event) -> dict[str, Any]:
    context = event.context
    detail = dict(event.detail)
    if context.actor_id is not None and context.actor_id != event.user_id:
        detail["actor_id"] = context.actor_id  # an admin acting on someone else
    return {
        "at": context.at or utcnow(),
        "type": str(event.type),
        "user_id": event.user_id,
        "session_id": event.session_id,
        "ip": context.ip,
        "user_agent": context.user_agent[:USER_AGENT_MAX],
        "request_id": context.request_id,
        "detail": detail,
    }


def log_events(rows: list[dict[str, Any]]) -> None:
    """One log line per event, with the event's fields (`authgate.logs` writes them as JSON)."""
    if not log.isEnabledFor(logging.INFO):
        return
    for row in rows:
        fields = {**row, "at": row["at"].isoformat(), "session_id": _str(row["session_id"])}
        logs.info_line(log, f"security event {row['type']}", {"event": fields})


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def page(
    connection: Connection,
    limit: int,
    cursor: str | None,
    *,
    user_id: int | None = None,
    type: EventType | None = None,
    since: datetime | None = None,
) -> tuple[list[Any], str | None]:
    """Events newest first, `limit` at a time after `cursor`, filtered as asked."""
    statement = select(EVENT).order_by(EVENT.c.id.desc()).limit(limit + 1)
    if cursor:
        statement = statement.where(EVENT.c.id < _decode_cursor(cursor))
    if user_id is not None:
        statement = statement.where(EVENT.c.user_id == user_id)
    if type is not None:
        statement = statement.where(EVENT.c.type == str(type))
    if since is not None:
        statement = statement.where(EVENT.c.at >= since)
    rows = list(connection.execute(statement))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_encode_cursor(rows[-1].id) if more else None)


def prune(connection: Connection, before: datetime, batch: int) -> int:
    """Delete up to `batch` events older than `before`, oldest first; returns how many."""
    oldest = select(EVENT.c.id).where(EVENT.c.at < before).order_by(EVENT.c.id).limit(batch)
    return connection.execute(delete(EVENT).where(EVENT.c.id.in_(oldest))).rowcount or 0


def _encode_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([event_id]).encode()).rstrip(b"=").decode()


def _decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        (value,) = json.loads(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError):
        raise BadCursor() from None
    if type(value) is not int or not 0 <= value <= MAX_ID:
        raise BadCursor()
    return value
