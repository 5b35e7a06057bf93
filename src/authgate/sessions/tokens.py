"""Token sessions: log-in with an access/refresh pair, refresh with rotation, log-out, verify.

A refresh token is 256 random bits, opaque to clients and stored only as its SHA-256 hash. With
rotation on, each refresh spends its token and hands out a new one; a spent token stays on file
so that presenting it again is recognised. That can only mean a copy of the token is in two
hands, the owner's and a thief's, and nothing tells which is which: so the whole session ends,
the newest refresh token and every access token of it included (simplejwt's users asked for
this family revocation for years).
"""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, bindparam, exists, insert, select, update

from authgate.accounts.models import User
from authgate.audit import service as audit
from authgate.audit.events import NO_CONTEXT, EventContext, EventType
from authgate.db import Database
from authgate.errors import Forbidden, TokenExpired, TokenInvalid, TokenReused, TokenRevoked
from authgate.security.tokens import TokenCodec
from authgate.sessions.models import LoginSession, RefreshToken
from authgate.sessions.service import (
    INSERT_SESSION,
    end_sessions,
    hash_secret,
    record_login,
    session_row,
)
from authgate.sessions.store import SessionState, SessionStore
from authgate.units import Prepared

REFRESH_MAX_LENGTH = 200

_TOKEN, _SESSION, _USER = RefreshToken.__table__, LoginSession.__table__, User.__table__
_REFRESH_COLUMNS = ("session_id", "token_hash", "created_at", "expires_at", "rotated_at")
# A refresh token is usable when it is unspent and unexpired...
_USABLE = (
    _TOKEN.c.token_hash == bindparam("hash"),
    _TOKEN.c.rotated_at.is_(None),
    _TOKEN.c.expires_at > bindparam("now"),
)
# ...and its session is live, with an active user. Spending it (with rotation) is one UPDATE:
# of N concurrent refreshes with one token, exactly one sees rotated_at still empty.
_SPEND = Prepared(
    update(_TOKEN)
    .where(*_USABLE)
    .values(rotated_at=bindparam("spent_at"))
    .returning(_TOKEN.c.session_id)
)
_PEEK = Prepared(select(_TOKEN.c.session_id).where(*_USABLE))
_LIVE_SESSION = (
    _SESSION.c.id == bindparam("sid"),
    _SESSION.c.ended_at.is_(None),
    _SESSION.c.expires_at > bindparam("now"),
    exists().where(_USER.c.id == _SESSION.c.user_id, _USER.c.is_active.is_(True)),
)
_SLIDE = Prepared(
    update(_SESSION)
    .where(*_LIVE_SESSION)
    .values(last_seen_at=bindparam("seen_at"), expires_at=bindparam("new_expiry"))
    .returning(_SESSION.c.user_id)
)
_TOUCH = Prepared(
    update(_SESSION)
    .where(*_LIVE_SESSION)
    .values(last_seen_at=bindparam("seen_at"))
    .returning(_SESSION.c.user_id)
)
_ADD_REFRESH = Prepared(insert(_TOKEN), insert=_REFRESH_COLUMNS)
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


class _Unusable(Exception):
    """The fast path of a refresh found the token unusable: roll back, then find out why."""


async def open_token_session(
    db: Database, codec: TokenCodec, user_id: int, lifetimes: Lifetimes, *,
    now: datetime, user_agent: str, ip: str, context: EventContext = NO_CONTEXT,
) -> TokenPair:  # fmt: skip
    """Log `user_id` in on a new token session: an access token and a refresh token."""
    session, _ = session_row(
        user_id, "token", now=now, lifetime=lifetimes.refresh, user_agent=user_agent, ip=ip
    )
    refresh, refresh_row = _new_refresh(session["id"], now, lifetimes.refresh)

    def work(connection: Connection) -> None:
        INSERT_SESSION.run(connection, session)
        _ADD_REFRESH.run(connection, refresh_row)
        record_login(connection, context, user_id, session["id"], "token")

    await db.write(work)
    access = codec.issue_access(user_id, session["id"], now)
    return TokenPair(access, refresh, codec.access_lifetime)


async def refresh_tokens(
    db: Database, codec: TokenCodec, token: str, lifetimes: Lifetimes, now: datetime,
    context: EventContext = NO_CONTEXT,
) -> TokenPair:  # fmt: skip
    """A new access token (and, with rotation, a new refresh token) for a live refresh token.

    The usual case is one unit of work: spend the token, slide its session, add the next token.
    Only when that finds the token unusable is it looked at again, to answer why.
    """
    token_hash = _hash_of(token)
    if token_hash is None:
        raise TokenInvalid()
    params: dict[str, Any] = {"hash": token_hash, "now": now, "seen_at": now}
    new_refresh, new_row = None, None
    if lifetimes.rotate:
        new_refresh, new_row = _new_refresh(None, now, lifetimes.refresh)
        params.update(spent_at=now, new_expiry=new_row["expires_at"])

    def work(connection: Connection) -> tuple[int, uuid.UUID]:
        found = (_SPEND if new_row else _PEEK).run(connection, params)
        if not found:
            raise _Unusable()
        session_id = found[0].session_id
        live = (_SLIDE if new_row else _TOUCH).run(connection, {**params, "sid": session_id})
        if not live:
            raise _Unusable()  # the rollback un-spends the token
        if new_row is not None:
            _ADD_REFRESH.run(connection, {**new_row, "session_id": session_id})
        return live[0].user_id, session_id

    try:
        user_id, session_id = await db.write(work)
    except _Unusable:
        await _refuse(db, token_hash, now, context)
        raise TokenInvalid() from None  # unusable a moment ago, usable now: a race; retry
    access = codec.issue_access(user_id, session_id, now)
    return TokenPair(access, new_refresh, codec.access_lifetime)


async def _refuse(db: Database, token_hash: str, now: datetime, context: EventContext) -> None:
    """Raise the reason a refresh token cannot be used; a spent one ends its whole session."""
    found = await db.read(lambda connection: _find(connection, token_hash))
    if found is None:
        raise TokenInvalid()
    if found.rotated_at is not None:

        def end_family(connection: Connection) -> None:
            audit.record(
                connection, EventType.REFRESH_REUSED, context,
                user_id=found.user_id, session_id=found.session_id,
            )  # fmt: skip
            end_sessions(
                connection, [found.session_id], now, context,
                type=EventType.SESSION_ENDED, reason="refresh_reused",
            )  # fmt: skip

        await db.write(end_family)
        raise TokenReused()
    _check_usable(found, now)


def _check_usable(found: Row[Any], now: datetime) -> None:
    if found.ended_at is not None or not found.is_active:
        raise TokenRevoked()
    if found.token_expires_at <= now or found.session_expires_at <= now:
        raise TokenExpired()


async def logout(
    db: Database, token: str, user_id: int, current: uuid.UUID, now: datetime,
    context: EventContext = NO_CONTEXT,
) -> None:  # fmt: skip
    """End the session of the caller's refresh token `token`, and the caller's own session."""
    found = await _find_token(db, token)
    if found is None:
        raise TokenInvalid()
    if found.user_id != user_id:
        raise Forbidden()
    wanted = list({found.session_id, current})
    await db.write(lambda connection: end_sessions(connection, wanted, now, context))


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


async def check_refresh(db: Database, token: str, now: datetime) -> None:
    """Whether `token` could be refreshed now, without spending it; token_* errors otherwise."""
    found = await _find_token(db, token)
    if found is None or found.rotated_at is not None:
        raise TokenInvalid()
    _check_usable(found, now)


def is_refresh_shaped(token: str) -> bool:
    """Access tokens are JWTs (with dots); refresh tokens are URL-safe text without dots."""
    return "." not in token


def _new_refresh(
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


def _hash_of(token: str) -> str | None:
    """The stored form of a refresh token; None for text that cannot be one."""
    return hash_secret(token) if token and len(token) <= REFRESH_MAX_LENGTH else None


async def _find_token(db: Database, token: str) -> Row[Any] | None:
    token_hash = _hash_of(token)
    if token_hash is None:
        return None
    return await db.read(lambda connection: _find(connection, token_hash))


def _find(connection: Connection, token_hash: str) -> Row[Any] | None:
    return connection.execute(_FIND, {"hash": token_hash}).first()
