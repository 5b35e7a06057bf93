"""Change feeds across hosts: PostgreSQL `LISTEN`/`NOTIFY`, or Redis publish/subscribe.

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
if, and only if, the change commits. Redis is told after the commit, so a process killed in
between would leave the others unaware of that one change until their next gap.
"""

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Sequence
from typing import Any

import asyncpg
from redis import asyncio as aioredis
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


class _ListeningFeed:
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

    def within(self, connection: Connection, changes: Sequence[Change]) -> None:
        """Called inside the unit of work that made `changes`, before its commit."""

    async def publish(self, changes: Sequence[Change]) -> None:
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


class PostgresFeed(_ListeningFeed):
    """Changes through PostgreSQL's `LISTEN`/`NOTIFY` on the service's own database."""

    def __init__(self, database_url: str) -> None:
        super().__init__()
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)

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


class RedisFeed(_ListeningFeed):
    """Changes through Redis publish/subscribe."""

    def __init__(self, redis_url: str) -> None:
        super().__init__()
        self._url = redis_url
        self._publisher: Any = None

    async def publish(self, changes: Sequence[Change]) -> None:
        await super().publish(changes)
        try:
            if self._publisher is None:
                self._publisher = aioredis.from_url(
                    self._url, socket_timeout=1, socket_connect_timeout=1
                )
            await self._publisher.publish(CHANNEL, encode(changes))
        except Exception as exc:
            # The others did not hear it: the change is made (committed), and their caches
            # must not outlive it. Nothing here can reach them; their listeners lost Redis too
            # (they stop trusting their caches), or will find this gap by their heartbeat.
            log.error("could not publish a change to Redis: %s", exc)

    async def stop(self) -> None:
        await super().stop()
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                await self._publisher.aclose()
            self._publisher = None

    async def _listen(self, connected: asyncio.Event) -> None:
        client = aioredis.from_url(self._url, socket_connect_timeout=2, socket_timeout=None)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            self._up(connected)
            pinged = time.monotonic()
            await pubsub.ping()
            while True:
                message = await pubsub.get_message(timeout=HEARTBEAT)
                if message is not None:
                    if message["type"] == "message":
                        self._heard(message["data"].decode())
                    elif message["type"] == "pong":
                        self._proved_at = time.monotonic()
                if time.monotonic() - pinged >= HEARTBEAT:
                    pinged = time.monotonic()
                    await pubsub.ping()
                if time.monotonic() - self._proved_at > STALE_AFTER * 2:
                    raise ConnectionError("Redis stopped answering")
        finally:
            self._connected = False
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await client.aclose()
