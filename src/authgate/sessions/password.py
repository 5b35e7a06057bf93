"""A password change: the new hash, every session of the user ended, and a new session for
the caller, in one transaction.

The caller's session is not kept but replaced: whatever may have been copied from it (a
cookie, a refresh token) is worth nothing after the change, and the caller gets a new session
id and new secrets in the answer.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from authgate.accounts import service as accounts
from authgate.db import Database
from authgate.security.passwords import PasswordHasher
from authgate.security.tokens import TokenCodec
from authgate.sessions.service import INSERT_SESSION, end_user_sessions, session_row
from authgate.sessions.store import SessionState
from authgate.sessions.tokens import Lifetimes, TokenPair, TokenSessionOpening


@dataclass(frozen=True, slots=True)
class Replacement:
    """What the caller's session became: a cookie secret, or a token pair."""

    cookie_secret: str | None = None
    tokens: TokenPair | None = None


@dataclass(frozen=True, slots=True)
class NewSession:
    """How to open the caller's next session: lifetimes and where the request came from."""

    cookie_age: int
    lifetimes: Lifetimes
    user_agent: str
    ip: str


async def change_password(
    db: Database, hasher: PasswordHasher, codec: TokenCodec, current: SessionState,
    old: str, new: str, *, now: datetime, min_length: int, opening: NewSession,
) -> Replacement:  # fmt: skip
    """Change the password, end every session of the user, open a new one like `current`."""
    user_id = current.user.id
    old_hash, new_hash = await accounts.new_password_hash(
        db, hasher, user_id, old, new, min_length=min_length
    )
    if current.kind == "cookie":
        row, secret = session_row(
            user_id, "cookie", now=now, lifetime=opening.cookie_age,
            user_agent=opening.user_agent, ip=opening.ip,
            absolute=opening.lifetimes.absolute, amr=" ".join(current.amr),
        )  # fmt: skip
        insert = lambda connection: INSERT_SESSION.run(connection, row)  # noqa: E731
    else:
        token_session = TokenSessionOpening(
            user_id, opening.lifetimes, now=now, user_agent=opening.user_agent, ip=opening.ip,
            amr=" ".join(current.amr),
        )  # fmt: skip
        insert = token_session.insert

    def change(connection: Connection) -> None:
        accounts.set_password_hash(connection, user_id, old_hash, new_hash)
        end_user_sessions(connection, user_id, now)
        insert(connection)

    await db.write(change)
    if current.kind == "cookie":
        return Replacement(cookie_secret=secret)
    return Replacement(tokens=token_session.pair(codec))
