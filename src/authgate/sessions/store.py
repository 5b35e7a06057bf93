"""What every authenticated request asks: is this session live, and who is its user?

Answers are cached in the process and trusted while the change feed is healthy: every change
that can end a session or alter a user is announced on it, and the store reads the feed before
each answer (a memory read when nothing changed). A change costs the cache the entries it
names (a session, or every session of a user), not the whole cache; a gap in the feed, or a
feed that cannot vouch for itself, drops everything, and while the feed is unhealthy every
answer comes from the database.
"""

import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from authgate.accounts.models import User
from authgate.accounts.snapshot import AuthUser
from authgate.changes import ChangeFeed, Subscription, Topic
from authgate.db import Database
from authgate.sessions.models import LoginSession
from authgate.units import Prepared

MAX_ENTRIES = 100_000
RECENT = 4096  # changes remembered to judge loads that were in flight meanwhile


@dataclass(slots=True)
class SessionState:
    id: uuid.UUID
    kind: str
    user: AuthUser
    expires_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    secret_hash: str | None
    created_at: datetime
    auth_time: datetime
    amr: tuple[str, ...]

    def is_live(self, now: datetime) -> bool:
        return self.ended_at is None and self.user.is_active and self.expires_at > now


class SessionStore:
    def __init__(self, db: Database, feed: ChangeFeed) -> None:
        self._db = db
        self._changes = Subscription(feed)
        self._by_id: dict[uuid.UUID, SessionState | None] = {}
        self._by_secret: dict[str, SessionState | None] = {}
        self._by_user: dict[int, set[uuid.UUID]] = {}
        # What changes touched lately, numbered: a load that a change overtook is not cached.
        self._generation = 0
        self._cleared_at = 0
        self._recent: deque[tuple[int, uuid.UUID | int]] = deque(maxlen=RECENT)

    async def by_id(self, session_id: uuid.UUID, *, fresh: bool = False) -> SessionState | None:
        trusted = self._sync()
        if trusted and not fresh and session_id in self._by_id:
            return self._by_id[session_id]
        started = self._generation
        state = await self._load(_BY_ID, session_id)
        if self._sync() and self._unchanged_since(started, state):
            self._remember(state, session_id=session_id)
        return state

    async def by_secret_hash(self, secret_hash: str, *, fresh: bool = False) -> SessionState | None:
        trusted = self._sync()
        if trusted and not fresh and secret_hash in self._by_secret:
            return self._by_secret[secret_hash]
        started = self._generation
        state = await self._load(_BY_SECRET, secret_hash)
        if self._sync() and self._unchanged_since(started, state):
            self._remember(state, secret_hash=secret_hash)
        return state

    def _sync(self) -> bool:
        """Apply the changes heard since the last call; False when the cache is not to be
        trusted (changes may have been missed, or may be missed now)."""
        changes = self._changes.poll()
        if changes is None or not self._changes.healthy:
            self._clear()
            return False
        for change in changes:
            if change.topic is Topic.SESSION:
                assert isinstance(change.key, uuid.UUID)
                self._drop(change.key)
                self._touch(change.key)
            elif change.topic is Topic.USER:
                assert isinstance(change.key, int)
                for session_id in self._by_user.pop(change.key, ()):
                    self._drop(session_id)
                self._touch(change.key)
        if len(self._by_id) + len(self._by_secret) > MAX_ENTRIES:
            self._clear()
        return True

    def _touch(self, key: uuid.UUID | int) -> None:
        self._generation += 1
        self._recent.append((self._generation, key))

    def _unchanged_since(self, generation: int, state: SessionState | None) -> bool:
        """Whether no change heard after `generation` concerns `state` (what a load read)."""
        if generation == self._generation:
            return True
        if self._cleared_at > generation or self._recent[0][0] > generation + 1:
            return False  # everything was dropped since, or what was touched is forgotten
        if state is None:
            return True  # nothing makes an unknown id known (a new session gets new ones)
        for touched, key in reversed(self._recent):
            if touched <= generation:
                break
            if key == state.id or key == state.user.id:
                return False
        return True

    def _drop(self, session_id: uuid.UUID) -> None:
        state = self._by_id.pop(session_id, None)
        if state is not None and state.secret_hash is not None:
            self._by_secret.pop(state.secret_hash, None)

    def _clear(self) -> None:
        self._by_id.clear()
        self._by_secret.clear()
        self._by_user.clear()
        self._generation += 1
        self._cleared_at = self._generation

    def _remember(
        self,
        state: SessionState | None,
        *,
        session_id: uuid.UUID | None = None,
        secret_hash: str | None = None,
    ) -> None:
        if state is None:
            if session_id is not None:
                self._by_id[session_id] = None
            if secret_hash is not None:
                self._by_secret[secret_hash] = None
            return
        self._by_id[state.id] = state
        if state.secret_hash is not None:
            self._by_secret[state.secret_hash] = state
        self._by_user.setdefault(state.user.id, set()).add(state.id)

    async def _load(self, statement: Prepared, key: object) -> SessionState | None:
        params = {"key": key}
        rows = await self._db.read(lambda connection: statement.run(connection, params))
        if not rows:
            return None
        row = rows[0]
        return SessionState(
            id=row.session_id,
            kind=row.kind,
            user=AuthUser.of(row),
            expires_at=row.expires_at,
            last_seen_at=row.last_seen_at,
            ended_at=row.ended_at,
            secret_hash=row.secret_hash,
            created_at=row.created_at,
            auth_time=row.auth_time or row.created_at,
            amr=tuple((row.amr or "pwd").split()),
        )


_SESSION, _USER = LoginSession.__table__, User.__table__
_STATE_COLUMNS = (
    "kind", "expires_at", "last_seen_at", "ended_at", "secret_hash", "created_at", "auth_time",
    "amr",
)  # fmt: skip
_STATE = select(
    _SESSION.c.id.label("session_id"),
    *(_SESSION.c[name] for name in _STATE_COLUMNS),
    *(_USER.c[name] for name in AuthUser.__slots__),
).join(_USER, _USER.c.id == _SESSION.c.user_id)
_BY_ID = Prepared(_STATE.where(_SESSION.c.id == bindparam("key")))
_BY_SECRET = Prepared(_STATE.where(_SESSION.c.secret_hash == bindparam("key")))
