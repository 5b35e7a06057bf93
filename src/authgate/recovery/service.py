"""The rules of e-mailed one-time tokens: password reset and e-mail verification.

A token is 256 random bits; only its SHA-256 hash is stored, with its purpose, so a token made
for one purpose is never found when looked up for another (nor is an access or refresh token,
which live elsewhere). Issuing a token supersedes the user's earlier unused ones of the same
purpose. Each token and the mail that carries it are written in one unit of work: the mail is
sent if, and only if, the token exists.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from authgate.accounts.models import User
from authgate.accounts.policy import check_password, email_key
from authgate.audit import service as audit
from authgate.audit.events import NO_CONTEXT, EventContext, EventType
from authgate.changes import announce, user_changed
from authgate.db import Database
from authgate.mail.compose import Letter
from authgate.mail.outbox import enqueue_in
from authgate.recovery.errors import EmailMissing, LinkTokenInvalid
from authgate.recovery.models import OneTimeToken
from authgate.security.passwords import PasswordHasher
from authgate.sessions.service import end_user_sessions

RESET, VERIFY = "reset", "verify"
KINDS = {RESET: "password_reset", VERIFY: "email_verification"}
TOKEN_MAX_LENGTH = 200
_TOKEN, _USER = OneTimeToken.__table__, User.__table__
_PERSON = (_USER.c.id, _USER.c.username, _USER.c.email, _USER.c.password_hash)


def hash_token(token: str) -> str:
    # 256 random bits: a fast hash is enough, there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def fingerprint(password_hash: str) -> str:
    """What a reset token remembers of the password: any change of the hash (a new salt at
    least) kills the token, whichever route changed it."""
    return hashlib.sha256(b"authgate-reset\0" + password_hash.encode()).hexdigest()


async def request_reset(
    db: Database, address: str, *, now: datetime, letter: Letter,
    context: EventContext = NO_CONTEXT,
) -> bool:  # fmt: skip
    """Queue a reset mail when an active user has `address`; True when one was queued.

    Known or not, the address takes the same path (one write unit, a mail rendered) so that
    the answer and its timing say nothing about who has an account.
    """
    key, token = email_key(address), secrets.token_urlsafe(32)

    def work(connection: Connection) -> bool:
        user = connection.execute(
            select(*_PERSON).where(_USER.c.email_key == key, _USER.c.is_active)
        ).first()
        message = letter.write(
            recipient=user.email if user else address,
            username=user.username if user else "",
            token=token,
        )
        if user is None:
            return False
        _issue_in(connection, RESET, user.id, token, now, letter.lifetime,
                  password_fingerprint=fingerprint(user.password_hash))  # fmt: skip
        enqueue_in(connection, KINDS[RESET], message)
        audit.record(connection, EventType.PASSWORD_RESET_REQUESTED, context, user_id=user.id)
        return True

    return await db.write(work)


async def check_reset(db: Database, token: str, now: datetime) -> None:
    """Raise `LinkTokenInvalid` unless `token` can reset a password now."""
    await db.read(lambda connection: _usable_reset(connection, token, now))


async def confirm_reset(
    db: Database, hasher: PasswordHasher, token: str, new_password: str, *,
    now: datetime, min_length: int, context: EventContext = NO_CONTEXT,
) -> int:  # fmt: skip
    """Set the password `token` was sent for, spend it, end every session; returns the user id."""
    found = await db.read(lambda connection: _usable_reset(connection, token, now))
    check_password(new_password, found.username, min_length)
    new_hash = await hasher.hash(new_password)  # outside the unit: no lock held while hashing

    def work(connection: Connection) -> None:
        # Checked again: the token may have been spent, or the password changed, meanwhile.
        again = _usable_reset(connection, token, now)
        if again.token_id != found.token_id:
            raise LinkTokenInvalid()
        _spend_in(connection, again.token_id, now)
        connection.execute(
            update(_USER).where(_USER.c.id == again.user_id).values(password_hash=new_hash)
        )
        audit.record(connection, EventType.PASSWORD_RESET, context, user_id=again.user_id)
        end_user_sessions(  # announces the user's change
            connection, again.user_id, now, context, reason="password_reset"
        )

    await db.write(work)
    return found.user_id


async def send_verification(
    db: Database, user_id: int, *, now: datetime, letter: Letter,
    context: EventContext = NO_CONTEXT,
) -> None:  # fmt: skip
    """Queue a verification mail to the user's current address (`EmailMissing` without one)."""

    def work(connection: Connection) -> None:
        user = connection.execute(select(*_PERSON).where(_USER.c.id == user_id)).first()
        if user is None or not user.email:
            raise EmailMissing()
        queue_verification(
            connection, user.id, user.username, user.email, now=now, letter=letter, context=context
        )

    await db.write(work)


def queue_verification(
    connection: Connection, user_id: int, username: str, address: str, *, now: datetime,
    letter: Letter, context: EventContext = NO_CONTEXT,
) -> None:  # fmt: skip
    """Queue, in the unit running on `connection`, a verification mail to `address`: the token
    proves that address only while the account keeps it."""
    token = secrets.token_urlsafe(32)
    _issue_in(connection, VERIFY, user_id, token, now, letter.lifetime,
              email_key=email_key(address))  # fmt: skip
    message = letter.write(recipient=address, username=username, token=token)
    enqueue_in(connection, KINDS[VERIFY], message)
    audit.record(connection, EventType.EMAIL_VERIFICATION_SENT, context, user_id=user_id)


async def verify_email(
    db: Database, token: str, now: datetime, context: EventContext = NO_CONTEXT
) -> Row[Any]:
    """Mark the address `token` was sent to as verified; returns the user's row."""

    def work(connection: Connection) -> Row[Any]:
        found = _usable(connection, VERIFY, token, now, _USER.c.email_key)
        # Made for an address the account no longer has: it proves nothing about the new one.
        if found is None or found.email_key is None or found.email_key != found.sent_to:
            raise LinkTokenInvalid()
        _spend_in(connection, found.token_id, now)
        changed = update(_USER).where(_USER.c.id == found.user_id).values(email_verified=True)
        # Cached session states hold a snapshot of the user: every process reloads it.
        announce(connection, user_changed(found.user_id))
        audit.record(connection, EventType.EMAIL_VERIFIED, context, user_id=found.user_id)
        return connection.execute(changed.returning(*_USER.c)).one()

    return await db.write(work)


async def check_verification(db: Database, token: str, now: datetime) -> None:
    def work(connection: Connection) -> None:
        found = _usable(connection, VERIFY, token, now, _USER.c.email_key)
        if found is None or found.email_key != found.sent_to:
            raise LinkTokenInvalid()

    await db.read(work)


def _issue_in(
    connection: Connection, purpose: str, user_id: int, token: str, now: datetime,
    lifetime: int, **bound: str | None,
) -> None:  # fmt: skip
    connection.execute(
        update(_TOKEN)
        .where(_TOKEN.c.user_id == user_id, _TOKEN.c.purpose == purpose, _TOKEN.c.used_at.is_(None))
        .values(used_at=now)
    )
    row = {
        "token_hash": hash_token(token),
        "purpose": purpose,
        "user_id": user_id,
        "email_key": None,
        "password_fingerprint": None,
        "created_at": now,
        "expires_at": now + timedelta(seconds=lifetime),
        **bound,
    }
    connection.execute(insert(_TOKEN), row)


def _usable(
    connection: Connection, purpose: str, token: str, now: datetime, *extra: Any
) -> Row[Any] | None:
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    query = (
        select(
            _TOKEN.c.id.label("token_id"),
            _TOKEN.c.user_id,
            _TOKEN.c.password_fingerprint,
            _TOKEN.c.email_key.label("sent_to"),
            _USER.c.username,
            *extra,
        )
        .join(_USER, _USER.c.id == _TOKEN.c.user_id)
        .where(
            _TOKEN.c.token_hash == hash_token(token),
            _TOKEN.c.purpose == purpose,
            _TOKEN.c.used_at.is_(None),
            _TOKEN.c.expires_at > now,
        )
    )
    return connection.execute(query).first()


def _usable_reset(connection: Connection, token: str, now: datetime) -> Row[Any]:
    found = _usable(connection, RESET, token, now, _USER.c.password_hash, _USER.c.is_active)
    if (
        found is None
        or not found.is_active
        or not secrets.compare_digest(found.password_fingerprint, fingerprint(found.password_hash))
    ):
        raise LinkTokenInvalid()
    return found


def _spend_in(connection: Connection, token_id: int, now: datetime) -> None:
    spent = connection.execute(
        update(_TOKEN).where(_TOKEN.c.id == token_id, _TOKEN.c.used_at.is_(None))
        .values(used_at=now)
    )  # fmt: skip
    if spent.rowcount != 1:
        raise LinkTokenInvalid()
