"""A password change: the new hash, every session of the user ended, and a new session for
the caller (see `replacement`), in one transaction."""

from datetime import datetime

from sqlalchemy import Connection

from authgate.accounts import service as accounts
from authgate.audit import service as audit
from authgate.audit.events import NO_CONTEXT, EventContext, EventType
from authgate.db import Database
from authgate.security.passwords import PasswordHasher
from authgate.security.tokens import TokenCodec
from authgate.sessions.replacement import NewSession, Replacement, SessionSuccessor
from authgate.sessions.service import end_user_sessions
from authgate.sessions.store import SessionState


async def change_password(
    db: Database, hasher: PasswordHasher, codec: TokenCodec, current: SessionState,
    old: str, new: str, *, now: datetime, min_length: int, opening: NewSession,
    context: EventContext = NO_CONTEXT,
) -> Replacement:  # fmt: skip
    """Change the password, end every session of the user, open a new one like `current`."""
    user_id = current.user.id
    old_hash, new_hash = await accounts.new_password_hash(
        db, hasher, user_id, old, new, min_length=min_length
    )
    successor = SessionSuccessor(current, opening, now, context=context)

    def change(connection: Connection) -> None:
        accounts.set_password_hash(connection, user_id, old_hash, new_hash)
        audit.record(
            connection, EventType.PASSWORD_CHANGED, context,
            user_id=user_id, session_id=current.id,
        )  # fmt: skip
        end_user_sessions(connection, user_id, now, context, reason="password_changed")
        successor.insert(connection)

    await db.write(change)
    return successor.replacement(codec)
