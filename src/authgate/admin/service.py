"""What administrators do to users: find them, (de)activate them, grant or revoke admin."""

import uuid
from datetime import datetime

from sqlalchemy import Connection, or_, select, update

from authgate.accounts.policy import email_key, username_key
from authgate.accounts.service import SNAPSHOT, USER, get_user
from authgate.accounts.snapshot import AuthUser
from authgate.admin.schemas import UserAdminUpdate
from authgate.audit import service as audit
from authgate.audit.events import NO_CONTEXT, EventContext, EventType
from authgate.changes import announce, user_changed
from authgate.errors import NotFound, TokenRevoked
from authgate.sessions.service import end_all_sessions, end_user_sessions


def page_users(
    connection: Connection, limit: int, after: int | None, query: str | None
) -> tuple[list[AuthUser], int | None]:
    """Users by id, `limit` at a time after id `after`; `query` is a part of a name or e-mail.
    Returns the page and, when more follow, the last id in it."""
    statement = select(*SNAPSHOT).order_by(USER.c.id).limit(limit + 1)
    query = query.strip() if query else None
    if after is not None:
        statement = statement.where(USER.c.id > after)
    if query:
        # The stored keys are already case-folded, so a LIKE on them ignores case everywhere
        # (SQLite's LIKE folds ASCII only, PostgreSQL's not at all).
        statement = statement.where(
            or_(
                USER.c.username_key.contains(username_key(query), autoescape=True),
                USER.c.email_key.contains(email_key(query) or "", autoescape=True),
            )
        )
    users = [AuthUser.of(row) for row in connection.execute(statement)]
    more = len(users) > limit
    users = users[:limit]
    return users, (users[-1].id if more else None)


def update_user(
    connection: Connection,
    user_id: int,
    changes: UserAdminUpdate,
    now: datetime,
    context: EventContext = NO_CONTEXT,
) -> AuthUser:
    """Apply an admin's changes; deactivation ends every session of the user at once."""
    values = changes.model_dump(exclude_none=True)
    if values:
        result = connection.execute(update(USER).where(USER.c.id == user_id).values(**values))
        if not result.rowcount:
            raise NotFound()
        # Cached session states carry the user's flags: an is_admin change must hold for the
        # sessions and tokens already out there, on the very next request of every process.
        announce(connection, user_changed(user_id))
        audit.record(connection, EventType.USER_UPDATED, context, user_id=user_id, changes=values)
    if changes.is_active is False:
        end_user_sessions(connection, user_id, now, context, reason="deactivated")
    try:
        return AuthUser.of(get_user(connection, user_id))
    except TokenRevoked:
        raise NotFound() from None


def end_sessions_of(
    connection: Connection, user_id: int, now: datetime, context: EventContext = NO_CONTEXT
) -> int:
    """End every session of the user (who stays active: they may log in again)."""
    if connection.execute(select(USER.c.id).where(USER.c.id == user_id)).first() is None:
        raise NotFound()
    return end_user_sessions(connection, user_id, now, context, reason="admin")


def end_everyones_sessions(
    connection: Connection, now: datetime, context: EventContext, keep: uuid.UUID
) -> int:
    """End every session of every user but the administrator's own (`keep`)."""
    return end_all_sessions(connection, now, context, keep=keep, reason="admin")
