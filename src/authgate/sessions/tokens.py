"""Token sessions: log-in with an access/refresh pair, log-out, revocation, access checks.

A refresh token is 256 random bits, opaque to clients and stored only as its SHA-256 hash;
refreshing (with rotation, and what a spent token coming back means) is `rotation`'s.
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select

from authgate.accounts.models import User
from authgate.audit.events import NO_CONTEXT, EventContext
from authgate.db import Database
from authgate.errors import Forbidden, TokenExpired, TokenInvalid, TokenRevoked
from authgate.security.tokens import TokenCodec
from authgate.sessions.models import LoginSession, RefreshToken
from authgate.sessions.opening import SessionOpening
from authgate.sessions.service import end_sessions, hash_secret
from authgate.sessions.store import SessionState, SessionStore
from authgate.units import Prepared

REFRESH_MAX_LENGTH = 200

_TOKEN, _SESSION, _USER = RefreshToken.__table__, LoginSession.__table__, User.__table__
_REFRESH_COLUMNS = ("session_id", "token_hash", "created_at", "expires_at", "rotated_at")
ADD_REFRESH = Prepared(insert(_TOKEN), insert=_REFRESH_COLUMNS)
_FIND = (
    select(
        _TOKEN.c.rotated_at,
        _TOKEN.c.expires_at.label("token_expires_at"),
        _SESSION.c.id.label("session_id"),
        _SESSION.c.user_id,
        _SESSION.c.ended_at,
        _SESSION.c.expires_at.label("session_expires_at"),
        _USER.c.is_active,
    )
    .join(_SESSION, _SESSION.c.id == _TOKEN.c.session_id)
    .join(_USER, _USER.c.id == _SESSION.c.user_id)
    .where(_TOKEN.c.token_hash == bindparam("hash"))
)


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: str
    refresh: str | None
    expires_in: int


@dataclass(frozen=True, slots=True)
class Lifetimes:
    refresh: int
    rotate: bool
    absolute: int = 2_592_000  # seconds from log-in to the session's end, however active


class TokenSessionOpening(SessionOpening):
    """A new token session: its row and first refresh token made outside a unit of work,
    stored by `insert` inside one; `pair` then signs its first access token."""

    def __init__(
        self, user_id: int | None, lifetimes: Lifetimes, *, now: datetime, user_agent: str, ip: str,
        amr: str = "pwd", context: EventContext = NO_CONTEXT, method: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(
            user_id, "token", now=now, lifetime=lifetimes.refresh, user_agent=user_agent, ip=ip,
            absolute=lifetimes.absolute, amr=amr, context=context, method=method,
        )  # fmt: skip
        self.refresh, refresh_row = new_refresh(self.id, now, lifetimes.refresh)
        # The refresh token ends with its session: both capped by the absolute deadline.
        self._refresh_row = {**refresh_row, "expires_at": self.row["expires_at"]}

    def insert(self, connection: Connection) -> None:
        super().insert(connection)
        ADD_REFRESH.run(connection, self._refresh_row)

    def pair(self, codec: TokenCodec) -> "TokenPair":
        now = self.row["created_at"]
        return issue_pair(
            codec, self.user_id, self.id, self.refresh, now, self.row["expires_at"],
            auth_time=now, amr=self.row["amr"],
        )  # fmt: skip


def issue_pair(
    codec: TokenCodec, user_id: int, session_id: uuid.UUID, refresh: str | None,
    now: datetime, not_after: datetime, *, auth_time: datetime | None, amr: str | None,
) -> TokenPair:  # fmt: skip
    """An access token for the session (expiring by `not_after` at the latest) and `refresh`."""
    access, expires_at = codec.issue_access(
        user_id, session_id, now, not_after=not_after, auth_time=auth_time,
        amr=(amr or "pwd").split(),
    )  # fmt: skip
    return TokenPair(access, refresh, expires_at - int(now.timestamp()))


async def logout(
    db: Database, token: str, user_id: int, current: uuid.UUID, now: datetime,
    context: EventContext = NO_CONTEXT,
) -> None:  # fmt: skip
    """End the session of the caller's refresh token `token`, and the caller's own session."""
    found = await find_token(db, token)
    if found is None:
        raise TokenInvalid()
    if found.user_id != user_id:
        raise Forbidden()
    wanted = list({found.session_id, current})
    await db.write(lambda connection: end_sessions(connection, wanted, now, context))


async def revoke(db: Database, codec: TokenCodec, token: str, now: datetime) -> None:
    """RFC 7009: end the session of a refresh or access token; nothing for any other text.

    Holding a token is the proof: whoever could use it may also end it. An expired access
    token no longer proves anything and ends nothing.
    """
    if is_refresh_shaped(token):
        found = await find_token(db, token)
        session_id = found.session_id if found is not None else None
    else:
        try:
            session_id = codec.decode_access(token, now).session_id
        except (TokenInvalid, TokenExpired):
            session_id = None
    if session_id is not None:
        ended = [session_id]
        await db.write(lambda connection: end_sessions(connection, ended, now))


async def check_access(
    codec: TokenCodec, store: SessionStore, token: str, now: datetime
) -> SessionState:
    """The live token session an access token belongs to; token_* errors otherwise.

    The revocation check is the session store's cached state, trusted while the change feed
    says nothing about it: a dictionary look-up and a memory read on a hit, no query.
    """
    claims = codec.decode_access(token, now)
    session = await store.by_id(claims.session_id)
    if session is not None and session.ended_at is None and session.expires_at <= now:
        # A refresh in another worker may have slid the expiry forward since we cached it.
        session = await store.by_id(session.id, fresh=True)
    if (
        session is None
        or session.ended_at is not None
        or not session.user.is_active
        or session.kind != "token"
        or session.user.id != claims.user_id
    ):
        raise TokenRevoked()
    if session.expires_at <= now:
        raise TokenExpired()
    return session


def is_refresh_shaped(token: str) -> bool:
    """Access tokens are JWTs (with dots); refresh tokens are URL-safe text without dots."""
    return "." not in token


def new_refresh(
    session_id: uuid.UUID | None, now: datetime, lifetime: int
) -> tuple[str, dict[str, Any]]:
    """A new refresh token and its `refresh_token` row (only the token's hash is stored)."""
    token = secrets.token_urlsafe(32)
    row = {
        "session_id": session_id,
        "token_hash": hash_secret(token),
        "created_at": now,
        "expires_at": now + timedelta(seconds=lifetime),
        "rotated_at": None,
    }
    return token, row


def refresh_hash(token: str) -> str | None:
    """The stored form of a refresh token; None for text that cannot be one."""
    return hash_secret(token) if token and len(token) <= REFRESH_MAX_LENGTH else None


async def find_token(db: Database, token: str) -> Row[Any] | None:
    """`find_by_hash` for a refresh token as presented; None for text that cannot be one."""
    token_hash = refresh_hash(token)
    if token_hash is None:
        return None
    return await db.read(lambda connection: find_by_hash(connection, token_hash))


def find_by_hash(connection: Connection, token_hash: str) -> Row[Any] | None:
    """The refresh token with this hash, its session and whether its user is active."""
    return connection.execute(_FIND, {"hash": token_hash}).first()
