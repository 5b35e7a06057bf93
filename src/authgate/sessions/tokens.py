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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from authgate.accounts.models import User
from authgate.epochs import Epoch, Epochs
from authgate.errors import Forbidden, TokenExpired, TokenInvalid, TokenReused, TokenRevoked
from authgate.security.tokens import TokenCodec
from authgate.sessions.models import LoginSession, RefreshToken
from authgate.sessions.service import hash_secret, open_session
from authgate.sessions.store import SessionState, SessionStore

REFRESH_MAX_LENGTH = 200


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: str
    refresh: str | None
    expires_in: int


@dataclass(frozen=True, slots=True)
class Lifetimes:
    refresh: int
    rotate: bool


async def open_token_session(
    db: AsyncSession, codec: TokenCodec, user: User, lifetimes: Lifetimes, *,
    now: datetime, user_agent: str, ip: str,
) -> TokenPair:  # fmt: skip
    """Log `user` in on a new token session: an access token and a refresh token."""
    session, _ = await open_session(
        db, user, "token", now=now, lifetime=lifetimes.refresh, user_agent=user_agent, ip=ip
    )
    refresh = _add_refresh(db, session.id, now, lifetimes.refresh)
    await db.commit()
    return TokenPair(codec.issue_access(user.id, session.id, now), refresh, codec.access_lifetime)


async def refresh_tokens(
    db: AsyncSession, epochs: Epochs, codec: TokenCodec, token: str, lifetimes: Lifetimes,
    now: datetime,
) -> TokenPair:  # fmt: skip
    """A new access token (and, with rotation, a new refresh token) for a live refresh token."""
    found = await _find(db, token)
    if found is None:
        raise TokenInvalid()
    refresh, session, user = found
    if refresh.rotated_at is not None:
        await _end_sessions(db, epochs, [session.id], now)
        raise TokenReused()
    if session.ended_at is not None or not user.is_active:
        raise TokenRevoked()
    if refresh.expires_at <= now or session.expires_at <= now:
        raise TokenExpired()
    new_refresh, expires_at = None, session.expires_at
    if lifetimes.rotate:
        # The conditional UPDATE is the arbiter: of N concurrent refreshes with one token,
        # exactly one sees rotated_at still empty. The others presented a spent token.
        spent = await db.execute(
            update(RefreshToken)
            .where(RefreshToken.id == refresh.id, RefreshToken.rotated_at.is_(None))
            .values(rotated_at=now)
        )
        if not spent.rowcount:
            session_id = session.id  # a rollback expires the loaded rows
            await db.rollback()
            await _end_sessions(db, epochs, [session_id], now)
            raise TokenReused()
        new_refresh = _add_refresh(db, session.id, now, lifetimes.refresh)
        expires_at = now + timedelta(seconds=lifetimes.refresh)
    await db.execute(
        update(LoginSession)
        .where(LoginSession.id == session.id, LoginSession.ended_at.is_(None))
        .values(last_seen_at=now, expires_at=expires_at)
    )
    await db.commit()
    access = codec.issue_access(user.id, session.id, now)
    return TokenPair(access, new_refresh, codec.access_lifetime)


async def logout(
    db: AsyncSession, epochs: Epochs, token: str, user_id: int, current: uuid.UUID, now: datetime
) -> None:
    """End the session of the caller's refresh token `token`, and the caller's own session."""
    found = await _find(db, token)
    if found is None:
        raise TokenInvalid()
    if found[1].user_id != user_id:
        raise Forbidden()
    await _end_sessions(db, epochs, {found[1].id, current}, now)


async def check_access(
    codec: TokenCodec, store: SessionStore, token: str, now: datetime
) -> SessionState:
    """The live token session an access token belongs to; token_* errors otherwise.

    The revocation check is the session store's cached state, trusted until the AUTH epoch
    moves: a dictionary look-up and a shared-memory read on a hit, no database query.
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


async def check_refresh(db: AsyncSession, token: str, now: datetime) -> None:
    """Whether `token` could be refreshed now, without spending it; token_* errors otherwise."""
    found = await _find(db, token)
    if found is None or found[0].rotated_at is not None:
        raise TokenInvalid()
    refresh, session, user = found
    if session.ended_at is not None or not user.is_active:
        raise TokenRevoked()
    if refresh.expires_at <= now or session.expires_at <= now:
        raise TokenExpired()


def is_refresh_shaped(token: str) -> bool:
    """Access tokens are JWTs (with dots); refresh tokens are URL-safe text without dots."""
    return "." not in token


def _add_refresh(db: AsyncSession, session_id: uuid.UUID, now: datetime, lifetime: int) -> str:
    token = secrets.token_urlsafe(32)
    db.add(
        RefreshToken(
            session_id=session_id,
            token_hash=hash_secret(token),
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
    )
    return token


async def _find(db: AsyncSession, token: str) -> tuple[RefreshToken, LoginSession, User] | None:
    if not token or len(token) > REFRESH_MAX_LENGTH:
        return None
    row = (
        await db.execute(
            select(RefreshToken, LoginSession, User)
            .join(LoginSession, LoginSession.id == RefreshToken.session_id)
            .join(User, User.id == LoginSession.user_id)
            .where(RefreshToken.token_hash == hash_secret(token))
        )
    ).first()
    return (row[0], row[1], row[2]) if row is not None else None


async def _end_sessions(
    db: AsyncSession, epochs: Epochs, ids: Iterable[uuid.UUID], now: datetime
) -> None:
    await db.execute(
        update(LoginSession)
        .where(LoginSession.id.in_(list(ids)), LoginSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    await db.commit()
    # Every worker drops its cached session states: the access tokens fail on the next request.
    epochs.bump(Epoch.AUTH)
