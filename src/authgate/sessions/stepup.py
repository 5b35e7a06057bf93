"""Re-authentication on a live session: a fresh proof of identity for sensitive changes."""

from datetime import datetime

from authgate.accounts import service as accounts
from authgate.db import Database
from authgate.errors import InvalidCredentials
from authgate.mfa import service as mfa
from authgate.security.keystore import KeyCipher
from authgate.security.passwords import PasswordHasher
from authgate.sessions.service import reauthenticated
from authgate.sessions.store import SessionState


class ReauthenticationRejected(InvalidCredentials):
    """A wrong password or code: 400 (the caller stays logged in), counted as a failed log-in,
    so that a stolen session cannot guess the password through this route."""

    status = 400


async def reauthenticate(
    db: Database, hasher: PasswordHasher, cipher: KeyCipher, session: SessionState, *,
    password: str | None, code: str | None, now: datetime,
) -> None:  # fmt: skip
    """Renew the session's `auth_time` with the user's password or a TOTP code."""
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
    await db.write(lambda connection: reauthenticated(connection, session.id, now))
