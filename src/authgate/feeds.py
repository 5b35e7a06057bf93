"""Change feeds across hosts: what they share, and PostgreSQL `LISTEN`/`NOTIFY`.

Each process keeps the changes it heard in a log in memory (`HeardLog`), which its caches read
as they read the host feed: a memory read per request. A listener task fills it from one
connection of its own, and proves every `HEARTBEAT` seconds that the connection still answers.
The feed is healthy only while the listener is connected and its last proof is recent
(`STALE_AFTER`); otherwise caches trust nothing and ask the database. When a listener
(re)connects it cannot know what it missed meanwhile, so it marks a gap: every reader drops
what it cached, once, and reads on from there.

A process hears its own changes at once: `publish` (after the commit) writes them to its own
log, before the answer that made them goes out; the copy that comes back from the server later
is dropped from the caches a second time, harmlessly.

PostgreSQL's notification is sent inside the unit's transaction (`within`): it is delivered
if, and only if, the change commits. (Redis, told after the commit: `authgate.redisfeed`.)
"""

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Sequence

import asyncpg
from sqlalchemy import Connection, make_url, text

from authgate.changes import Change, Topic

CHANNEL = "authgate_changes"
LISTENER_NAME = "authgate-change-feed"  # the listening connection's application_name
HEARTBEAT = 0.25  # seconds between proofs that the listening connection answers
STALE_AFTER = 1.0  # a proof older than this: not healthy (the contract's 1 s bound)
RETRY = (0.1, 0.25, 0.5, 1.0, 2.0)  # reconnection back-off, seconds
MAX_PAYLOAD = 7000  # PostgreSQL refuses notifications of 8000 bytes and more
EVERYTHING = "*"  # a payload that names no change: every cache drops everything
log = logging.getLogger("authgate.feed")


class HeardLog:
    """The changes a process heard, numbered; readers past a gap are told they missed some."""

    def __init__(self, size: int = 8192) -> None:
        self._heard: deque[tuple[int, Change]] = deque(maxlen=size)
        self._count = 0
        self._gap = 0  # readers before this position may have missed changes

    def position(self) -> int:
        return self._count

    def read(self, position: int) -> tuple[int, list[Change] | None]:
        if position == self._count:
            return position, []
        oldest = self._heard[0][0] if self._heard else self._count
        if position < self._gap or position < oldest:
            return self._count, None
        return self._count, [change for index, change in self._heard if index >= position]

    def add(self, changes: Sequence[Change]) -> None:
        for change in changes:
            self._heard.append((self._count, change))
            self._count += 1

    def mark_gap(self) -> None:
        self._count += 1
        self._gap = self._count


def encode(changes: Sequence[Change]) -> str:
    payload = json.dumps(
        [[change.topic, None if change.key is None else str(change.key)] for change in changes],
        separators=(",", ":"),
    )
    return payload if len(payload) <= MAX_PAYLOAD else EVERYTHING


def decode(payload: str) -> list[Change] | None:
    """The changes of a payload; None when it says everything may have changed."""
    if payload == EVERYTHING:
        return None
    changes = []
    for topic, key in json.loads(payload):
        kind = Topic(topic)
        if kind is Topic.SESSION:
            changes.append(Change(kind, uuid.UUID(key)))
        elif kind is Topic.USER:
            changes.append(Change(kind, int(key)))
        else:
            changes.append(Change(kind))
    return changes


def asyncpg_dsn(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class ListeningFeed:
    """What both network feeds share: the heard log, health, and the listener's life."""

    def __init__(self) -> None:
        self._log = HeardLog()
        self._connected = False
        self._proved_at = float("-inf")
        self._task: asyncio.Task[None] | None = None
        self._ups = 0  # how many times the listener got connected and subscribed

    @property
    def healthy(self) -> bool:
        return self._connected and time.monotonic() - self._proved_at < STALE_AFTER

    def position(self) -> int:
        return self._log.position()

    def read(self, position: int) -> tuple[int, list[Change] | None]:
        return self._log.read(position)

    def within(self, connection: Connection, changes: Sequence[Change]) -> int | None:
        """Called inside the unit of work that made `changes`, before its commit."""

    async def publish(self, changes: Sequence[Change], number: int | None = None) -> None:
        self._log.add(changes)

    async def start(self) -> None:
        """Listen until `stop`; returns once connected, or after a first failed attempt."""
        connected = asyncio.Event()
        self._task = asyncio.create_task(self._run(connected), name="authgate-change-feed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(connected.wait(), timeout=5)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._connected = False

    def close(self) -> None:
        """Nothing to release synchronously: `stop` ends the listener."""

    async def _run(self, connected: asyncio.Event) -> None:
        attempt = 0
        while True:
            ups = self._ups
            try:
                await self._listen(connected)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._ups != ups:
                    attempt = 0  # it was listening: a new loss, the back-off starts over
                if attempt == 0:
                    log.warning("change feed lost (%s): caches off until it is back", exc)
                connected.set()  # the start need not wait: requests ask the database meanwhile
            self._connected = False
            await asyncio.sleep(RETRY[min(attempt, len(RETRY) - 1)])
            attempt += 1

    def _heard(self, payload: str) -> None:
        changes = decode(payload)
        if changes is None:
            self._log.mark_gap()
        else:
            self._log.add(changes)
        self._proved_at = time.monotonic()

    def _up(self, connected: asyncio.Event) -> None:
        """The listener is subscribed: whatever happened before is unknown, so a gap."""
        self._log.mark_gap()
        self._proved_at = time.monotonic()
        self._connected = True
        self._ups += 1
        connected.set()
        log.info("change feed listening")

    async def _listen(self, connected: asyncio.Event) -> None:
        raise NotImplementedError


class PostgresFeed(ListeningFeed):
    """Changes through PostgreSQL's `LISTEN`/`NOTIFY` on the service's own database."""

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self._dsn = asyncpg_dsn(database_url)

    def within(self, connection: Connection, changes: Sequence[Change]) -> None:
        # Sent with the transaction: delivered if and only if the change commits.
        connection.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": encode(changes)},
        )

    async def _listen(self, connected: asyncio.Event) -> None:
        connection = await asyncpg.connect(
            self._dsn, timeout=5, server_settings={"application_name": LISTENER_NAME}
        )
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(CHANNEL, lambda *args: self._heard(args[-1]))
            self._up(connected)
            while not lost.is_set():
                # A connection cut without a word (a pulled cable, a frozen server) is found
                # by the next proof that times out.
                await connection.fetchval("SELECT 1", timeout=STALE_AFTER)
                self._proved_at = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), HEARTBEAT)
            raise ConnectionError("the listening connection was closed")
        finally:
            self._connected = False
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=1)
