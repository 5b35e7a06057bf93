"""What administrators do to users: find them, (de)activate them, grant or revoke admin."""

import base64
import binascii
from datetime import datetime

from sqlalchemy import Connection, or_, select, update

from authgate.accounts.policy import email_key, username_key
from authgate.accounts.service import SNAPSHOT, USER, get_user
from authgate.accounts.snapshot import AuthUser
from authgate.admin.errors import BadCursor
from authgate.admin.schemas import UserAdminUpdate
from authgate.audit import service as audit
from authgate.audit.events import NO_CONTEXT, EventContext, EventType
from authgate.changes import announce, user_changed
from authgate.errors import NotFound, TokenRevoked
from authgate.sessions.service import end_user_sessions

MAX_ID = 2**63 - 1


def page_users(
    connection: Connection, limit: int, cursor: str | None, query: str | None
) -> tuple[list[AuthUser], str | None]:
    """Users by id, `limit` at a time after `cursor`; `query` is a part of a name or e-mail."""
    statement = select(*SNAPSHOT).order_by(USER.c.id).limit(limit + 1)
    query = query.strip() if query else None
    if cursor:
        statement = statement.where(USER.c.id > _decode_cursor(cursor))
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
    return users, (_encode_cursor(users[-1].id) if more else None)


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


def _encode_cursor(user_id: int) -> str:
    return base64.urlsafe_b64encode(str(user_id).encode()).rstrip(b"=").decode()


def _decode_cursor(cursor: str) -> int:
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor() from None
    if not 0 <= value <= MAX_ID:
        raise BadCursor()
    return value
