"""Re-authentication on a live session: a fresh proof of identity for sensitive changes.

The session it happened on is replaced by a new one (see `replacement`) whose `auth_time`
is now: sensitive changes look at that.
"""

from datetime import datetime

from sqlalchemy import Connection

from authgate.accounts import service as accounts
from authgate.db import Database
from authgate.errors import InvalidCredentials, TokenRevoked
from authgate.mfa import service as mfa
from authgate.security.keystore import KeyCipher
from authgate.security.passwords import PasswordHasher
from authgate.security.tokens import TokenCodec
from authgate.sessions.replacement import NewSession, Replacement, SessionSuccessor
from authgate.sessions.service import end_sessions
from authgate.sessions.store import SessionState


class ReauthenticationRejected(InvalidCredentials):
    """A wrong password or code: 400 (the caller stays logged in), counted as a failed log-in,
    so that a stolen session cannot guess the password through this route."""

    status = 400


async def reauthenticate(
    db: Database, hasher: PasswordHasher, cipher: KeyCipher, codec: TokenCodec,
    session: SessionState, *, password: str | None, code: str | None, now: datetime,
    opening: NewSession,
) -> Replacement:  # fmt: skip
    """Check the user's password or a TOTP code, then replace the session with a new one."""
    user_id = session.user.id
    if password is not None:
        row = await db.read(lambda connection: accounts.get_user(connection, user_id))
        ok, _ = await hasher.verify(password, row.password_hash)
    else:
        given = code or ""
        ok = await db.write(
            lambda connection: mfa.accept_totp(connection, cipher, user_id, given, now)
        )
    if not ok:
        raise ReauthenticationRejected()
    successor = SessionSuccessor(session, opening, now)

    def replace(connection: Connection) -> None:
        if not end_sessions(connection, [session.id], now):
            raise TokenRevoked()  # ended meanwhile (logged out elsewhere): no successor
        successor.insert(connection)

    await db.write(replace)
    return successor.replacement(codec)
