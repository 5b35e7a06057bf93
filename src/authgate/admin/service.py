"""What administrators do to users: find them, (de)activate them, grant or revoke admin."""

import base64
import binascii
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from authgate.accounts.models import User
from authgate.accounts.policy import email_key, username_key
from authgate.admin.schemas import UserAdminUpdate
from authgate.epochs import Epoch, Epochs
from authgate.errors import AppError, NotFound
from authgate.sessions.service import end_user_sessions

MAX_ID = 2**63 - 1


class BadCursor(AppError):
    status, code = 422, "validation_error"


async def page_users(
    db: AsyncSession, limit: int, cursor: str | None, query: str | None
) -> tuple[list[User], str | None]:
    """Users by id, `limit` at a time after `cursor`; `query` is a part of a name or e-mail."""
    statement = select(User).order_by(User.id).limit(limit + 1)
    query = query.strip() if query else None
    if cursor:
        statement = statement.where(User.id > _decode_cursor(cursor))
    if query:
        # The stored keys are already case-folded, so a LIKE on them ignores case everywhere
        # (SQLite's LIKE folds ASCII only, PostgreSQL's not at all).
        statement = statement.where(
            or_(
                User.username_key.contains(username_key(query), autoescape=True),
                User.email_key.contains(email_key(query) or "", autoescape=True),
            )
        )
    users = list(await db.scalars(statement))
    more = len(users) > limit
    users = users[:limit]
    return users, (_encode_cursor(users[-1].id) if more else None)


async def update_user(
    db: AsyncSession, epochs: Epochs, user_id: int, changes: UserAdminUpdate, now: datetime
) -> User:
    """Apply an admin's changes; deactivation ends every session of the user at once."""
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound()
    if changes.is_admin is not None:
        user.is_admin = changes.is_admin
    if changes.is_active is not None:
        user.is_active = changes.is_active
    if changes.is_active is False:
        await end_user_sessions(db, epochs, user.id, now)  # commits the user change with it
    else:
        await db.commit()
        # Cached session states carry the user's flags: an is_admin change must hold for the
        # sessions and tokens already out there, on the very next request of every worker.
        epochs.bump(Epoch.AUTH)
    return user


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
