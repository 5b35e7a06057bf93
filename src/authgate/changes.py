"""The change feed: what a unit of work changed that other processes must hear about.

A unit of work declares a change with `announce(connection, change)`; `Database.write`
publishes the unit's changes through the `ChangeFeed` once the unit has committed (a unit that
rolls back announces nothing). Caches read the feed through a `Subscription` before trusting
themselves: each change names what it touches (these sessions, this user), so a cache drops
those entries only; a gap in what it has read, or a feed that is not healthy, drops everything.

Implementations: `authgate.hostfeed.HostFeed` (a memory-mapped log shared by the processes of
one host) and, for several hosts, `authgate.feeds` (PostgreSQL `LISTEN`/`NOTIFY`, Redis).
"""

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import Connection

PENDING = "authgate.changes"
# How long a change may go unpublished after its unit wrote it down (a pending record, a
# number) before the feeds count it as lost and every cache drops everything.
GRACE = 0.25  # seconds


class Topic(enum.IntEnum):
    SESSION = 1  # key: a session id that ended
    USER = 2  # key: a user id whose account, flags or sessions changed
    CORS = 3  # the run-time CORS origins changed
    KEYS = 4  # the JWT signing keys changed


@dataclass(frozen=True, slots=True)
class Change:
    topic: Topic
    key: uuid.UUID | int | None = None


def session_ended(session_id: uuid.UUID) -> Change:
    return Change(Topic.SESSION, session_id)


def user_changed(user_id: int) -> Change:
    return Change(Topic.USER, user_id)


ORIGINS_CHANGED = Change(Topic.CORS)
KEYS_CHANGED = Change(Topic.KEYS)


def announce(connection: Connection, *changes: Change) -> None:
    """Declare, inside a unit of work, changes to publish once it has committed."""
    connection.info.setdefault(PENDING, []).extend(changes)


def take_announced(connection: Connection) -> list[Change]:
    """The changes announced on `connection` since the last call (for the database layer)."""
    return connection.info.pop(PENDING, None) or []


class ChangeFeed(Protocol):
    """Publishes changes to every process of the service, and reads them back in order."""

    @property
    def healthy(self) -> bool:
        """True while every change published anywhere is known to reach `read` here."""
        ...

    def position(self) -> int:
        """Where a new reader starts: after every change published so far."""
        ...

    def read(self, position: int) -> tuple[int, list[Change] | None]:
        """The changes after `position` and the new position; None when some were lost."""
        ...

    def within(self, connection: Connection, changes: Sequence[Change]) -> int | None:
        """Called inside the unit of work that made `changes`, before its commit; what it
        returns (a number that the feed gave the changes, or None) is handed to `publish`."""
        ...

    async def publish(self, changes: Sequence[Change], number: int | None = None) -> None:
        """Called once the unit of work that made `changes` has committed."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def close(self) -> None: ...


class Subscription:
    """One reader's place in the feed. `poll()` is a memory read when nothing changed."""

    def __init__(self, feed: ChangeFeed) -> None:
        self._feed = feed
        self._position = feed.position()

    @property
    def healthy(self) -> bool:
        return self._feed.healthy

    def poll(self) -> list[Change] | None:
        """The changes since the last poll; None when some may have been missed."""
        position, changes = self._feed.read(self._position)
        self._position = position
        return changes
