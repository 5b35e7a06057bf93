"""What every authenticated request asks: is this session live, and who is its user?

Answers are cached in the process and trusted until the AUTH epoch moves (see
`authgate.epochs`): any change that can end a session or alter a user bumps it, so a cache
hit costs two dictionary look-ups and one shared-memory read, and a log-out is honoured by
every worker on the very next request.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from authgate.accounts.models import User
from authgate.db import Database
from authgate.epochs import Epoch, Epochs
from authgate.sessions.models import LoginSession
from authgate.units import Prepared

MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class AuthUser:
    """The authenticated user as routes see it: a snapshot, not an ORM object."""

    id: int
    username: str
    email: str | None
    first_name: str
    last_name: str
    is_admin: bool
    is_active: bool
    email_verified: bool
    date_joined: datetime

    @classmethod
    def of(cls, user: User) -> "AuthUser":
        return cls(**{name: getattr(user, name) for name in cls.__slots__})


@dataclass(slots=True)
class SessionState:
    id: uuid.UUID
    kind: str
    user: AuthUser
    expires_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
    secret_hash: str | None

    def is_live(self, now: datetime) -> bool:
        return self.ended_at is None and self.user.is_active and self.expires_at > now


class SessionStore:
    def __init__(self, db: Database, epochs: Epochs) -> None:
        self._db = db
        self._epochs = epochs
        self._epoch = -1
        self._by_id: dict[uuid.UUID, SessionState | None] = {}
        self._by_secret: dict[str, SessionState | None] = {}

    async def by_id(self, session_id: uuid.UUID, *, fresh: bool = False) -> SessionState | None:
        epoch = self._sync()
        if not fresh and session_id in self._by_id:
            return self._by_id[session_id]
        state = await self._load(_BY_ID, session_id)
        self._remember(epoch, state, session_id=session_id)
        return state

    async def by_secret_hash(self, secret_hash: str, *, fresh: bool = False) -> SessionState | None:
        epoch = self._sync()
        if not fresh and secret_hash in self._by_secret:
            return self._by_secret[secret_hash]
        state = await self._load(_BY_SECRET, secret_hash)
        self._remember(epoch, state, secret_hash=secret_hash)
        return state

    def _sync(self) -> int:
        epoch = self._epochs.read(Epoch.AUTH)
        if epoch != self._epoch or len(self._by_id) + len(self._by_secret) > MAX_ENTRIES:
            self._by_id.clear()
            self._by_secret.clear()
            self._epoch = epoch
        return epoch

    def _remember(
        self,
        epoch: int,
        state: SessionState | None,
        *,
        session_id: uuid.UUID | None = None,
        secret_hash: str | None = None,
    ) -> None:
        # A change committed while we were loading moved the epoch: what we read may be stale.
        if self._epochs.read(Epoch.AUTH) != epoch or epoch != self._epoch:
            return
        if state is not None:
            session_id, secret_hash = state.id, state.secret_hash
        if session_id is not None:
            self._by_id[session_id] = state
        if secret_hash is not None:
            self._by_secret[secret_hash] = state

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
        )


_SESSION, _USER = LoginSession.__table__, User.__table__
_STATE = select(
    _SESSION.c.id.label("session_id"),
    *(
        _SESSION.c[name]
        for name in ("kind", "expires_at", "last_seen_at", "ended_at", "secret_hash")
    ),
    *(_USER.c[name] for name in AuthUser.__slots__),
).join(_USER, _USER.c.id == _SESSION.c.user_id)
_BY_ID = Prepared(_STATE.where(_SESSION.c.id == bindparam("key")))
_BY_SECRET = Prepared(_STATE.where(_SESSION.c.secret_hash == bindparam("key")))
