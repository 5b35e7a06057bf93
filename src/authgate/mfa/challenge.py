"""The second step of a log-in: an `mfa_token` that a second factor redeems, once.

The token (256 random bits, stored as its SHA-256) stands for one passed password check: it
is bound to that user, to the log-in route it came through, and to the password hash that was
checked (a password change voids it); it lives a few minutes, finishes one log-in, and after
a few wrong codes it is spent too, so that the password must be proven again.
"""

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from authgate.accounts.models import User
from authgate.audit import service as audit
from authgate.audit.events import NO_CONTEXT, EventContext, EventType
from authgate.db import Database
from authgate.mfa import service
from authgate.mfa.errors import MfaCodeRejected
from authgate.mfa.models import MfaChallenge
from authgate.security.keystore import KeyCipher
from authgate.units import T, Work

CHALLENGE, USER = MfaChallenge.__table__, User.__table__
MAX_FAILURES = 5
TOKEN_MAX_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Challenged:
    """A live challenge, before its code: whose (the username, for the log-in limits), and
    the route it finishes as (fixed when the challenge was made)."""

    username: str
    kind: str


def method_of(code: str | None) -> str:
    """What a second step proves with: a TOTP code when one is given, else a recovery code."""
    return "totp" if code is not None else "recovery_code"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def challenge_or_open(
    opening: Work[object], user_id: int, kind: str, now: datetime, lifetime: int
) -> Work[str | None]:
    """The end of a password step, as one unit of work: with a second factor on, it stores a
    challenge and returns the `mfa_token` that redeems it; without, it runs `opening`, the new
    session's insert, and returns None."""

    def work(connection: Connection) -> str | None:
        if not service.is_enrolled(connection, user_id):
            opening(connection)
            return None
        token = secrets.token_urlsafe(32)
        password_hash = connection.execute(
            select(USER.c.password_hash).where(USER.c.id == user_id)
        ).scalar_one()
        connection.execute(delete(CHALLENGE).where(CHALLENGE.c.expires_at <= now))
        connection.execute(
            insert(CHALLENGE).values(
                token_hash=_hash(token), user_id=user_id, kind=kind,
                password_fingerprint=_hash(password_hash), created_at=now,
                expires_at=now + timedelta(seconds=lifetime), used_at=None, failures=0,
            )
        )  # fmt: skip
        return token

    return work


async def challenged(db: Database, token: str, now: datetime) -> Challenged | None:
    """The live challenge that `token` stands for; None for any other token."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    return await db.read(lambda connection: _live(connection, _hash(token), now))


def _live(connection: Connection, token_hash: str, now: datetime) -> Challenged | None:
    found = connection.execute(
        select(USER.c.username, CHALLENGE.c.kind)
        .join(CHALLENGE, CHALLENGE.c.user_id == USER.c.id)
        .where(
            CHALLENGE.c.token_hash == token_hash,
            CHALLENGE.c.used_at.is_(None),
            CHALLENGE.c.expires_at > now,
        )
    ).first()
    return None if found is None else Challenged(found.username, found.kind)


async def finish(
    db: Database, cipher: KeyCipher, token: str, *, code: str | None, recovery_code: str | None,
    now: datetime, then: Callable[[Connection, int], T], context: EventContext = NO_CONTEXT,
) -> T:  # fmt: skip
    """Redeem `token` with a TOTP code or a recovery code; MfaCodeRejected otherwise.

    Once redeemed, `then(connection, user_id)` runs in the same unit and its result is
    returned: the log-in's session opens with the challenge and the code spent, or nothing is
    spent (a recovery code is never lost to a session that could not be stored). The step's
    outcome is recorded in the unit that spends the challenge, or counts a wrong code against
    it; a refusal that changed nothing is left to the caller to queue."""
    method = method_of(code)
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise MfaCodeRejected("unknown_token", method=method)
    token_hash = _hash(token)

    def work(connection: Connection) -> T | MfaCodeRejected:
        found, refusal = _challenge(connection, token_hash, now)
        if refusal:
            return MfaCodeRejected(refusal, found.user_id if found else None, method)
        if code is not None:
            reason = service.totp_refusal(connection, cipher, found.user_id, code, now)
        else:
            spent = service.accept_recovery_code(
                connection, found.user_id, recovery_code or "", now, context=context
            )
            reason = None if spent else "wrong_code"
        unspent = CHALLENGE.c.token_hash == token_hash, CHALLENGE.c.used_at.is_(None)
        if reason is not None:
            failures = found.failures + 1
            values: dict[str, Any] = {"failures": failures}
            if failures >= MAX_FAILURES:
                values["used_at"] = now
            connection.execute(update(CHALLENGE).where(*unspent).values(**values))
            audit.record(connection, EventType.MFA_FAILED, context, user_id=found.user_id,
                         method=method, reason=reason, failures=failures)  # fmt: skip
            return MfaCodeRejected(reason, found.user_id, method, recorded=True)
        # Compare-and-set: of two requests finishing one challenge, one wins.
        if not connection.execute(update(CHALLENGE).where(*unspent).values(used_at=now)).rowcount:
            raise MfaCodeRejected("used_token", found.user_id, method)  # rolls the code back
        audit.record(connection, EventType.MFA_SUCCEEDED, context, user_id=found.user_id,
                     method=method, kind=found.kind)  # fmt: skip
        return then(connection, found.user_id)

    outcome = await db.write(work)
    if isinstance(outcome, MfaCodeRejected):
        raise outcome
    return outcome


def _challenge(connection: Connection, token_hash: str, now: datetime) -> tuple[Any, str]:
    """The challenge and, unless it is live (the password it checked still the user's, who is
    active), why it is not."""
    row = connection.execute(
        select(CHALLENGE, USER.c.password_hash, USER.c.is_active)
        .join(USER, USER.c.id == CHALLENGE.c.user_id)
        .where(CHALLENGE.c.token_hash == token_hash)
    ).first()
    if row is None:
        return None, "unknown_token"
    if row.used_at is not None:
        return row, "used_token"
    if row.expires_at <= now:
        return row, "expired_token"
    if not row.is_active:
        return row, "inactive"
    if row.password_fingerprint != _hash(row.password_hash):
        return row, "password_changed"
    return row, ""
