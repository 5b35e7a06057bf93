"""Changes across hosts through Redis publish/subscribe, numbered by PostgreSQL and audited.

Redis is told of a change after its commit, so a change can commit and never be told: its
process killed in between, or cut off from Redis while the others still listen. So each unit
that announces changes takes a number from a PostgreSQL sequence inside its transaction, and
sends it with them; every process reads the sequence every `HEARTBEAT` and counts a number it
has not heard `GRACE` seconds after first seeing it issued as a gap (`NumberAudit`).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
from redis import asyncio as aioredis
from sqlalchemy import Connection, text

from authgate.changes import GRACE, Change
from authgate.feeds import CHANNEL, HEARTBEAT, STALE_AFTER, ListeningFeed, asyncpg_dsn, encode

AUDITOR_NAME = "authgate-change-audit"  # the connection that reads the numbers
MAX_UNHEARD = 100_000  # numbers tracked at most; past that, a gap
NEXT_NUMBER = text("SELECT nextval('authgate_change_seq')")  # see migration 0007
LAST_NUMBER = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM authgate_change_seq"
log = logging.getLogger("authgate.feed")


class NumberAudit:
    """Which of the change numbers issued so far a process has heard through Redis.

    Numbers are issued by a PostgreSQL sequence inside the units that announce changes, and
    sent with their changes once committed. The process reads the sequence's last value every
    heartbeat: a number issued but not heard GRACE seconds after it was first seen is a change
    that may have committed unheard, and counts as a gap. A number whose unit rolled back is
    never heard either: a false gap, which costs the caches one drop, never a stale answer.
    """

    def __init__(self) -> None:
        self._checked: int | None = None  # every number up to this one is accounted for
        self._early: set[int] = set()  # heard before a reading of the sequence reached it
        self._unheard: dict[int, float] = {}  # issued, not heard yet: since when
        self._again_at: float | None = None

    def restart(self, last: int, now: float) -> None:
        """After (re)subscribing, whose gap covers every change committed before it. A change
        numbered before this reading but committed after the subscription, and never told, is
        covered by one more gap, GRACE later."""
        self._forget(last)
        self._again_at = now + GRACE

    def heard(self, number: int) -> None:
        if self._checked is None or number > self._checked:
            self._early.add(number)
        else:
            self._unheard.pop(number, None)

    def overdue(self, last: int, now: float) -> bool:
        """Account for the numbers issued up to `last`: True when a gap must be marked."""
        assert self._checked is not None, "restart first"
        gap = self._again_at is not None and now >= self._again_at
        if gap:
            self._again_at = None
        if not 0 <= last - self._checked <= MAX_UNHEARD or len(self._early) > MAX_UNHEARD:
            self._forget(last)  # the sequence was reset, or too much to track
            self._again_at = None
            return True
        for number in range(self._checked + 1, last + 1):
            if number in self._early:
                self._early.discard(number)
            else:
                self._unheard[number] = now
        self._checked = last  # never below it: checked above
        late = [number for number, seen in self._unheard.items() if now - seen >= GRACE]
        for number in late:
            del self._unheard[number]
        if len(self._unheard) > MAX_UNHEARD:
            self._unheard.clear()
            return True
        return gap or bool(late)

    def _forget(self, last: int) -> None:
        self._checked = last
        self._early.clear()
        self._unheard.clear()


class RedisFeed(ListeningFeed):
    """Changes through Redis publish/subscribe, numbered by PostgreSQL and audited.

    Healthy while the subscription answers its pings and the audit has read the sequence
    recently: a process that cannot tell whether it missed a change trusts no cache.
    """

    def __init__(self, redis_url: str, database_url: str) -> None:
        super().__init__()
        self._url = redis_url
        self._dsn = asyncpg_dsn(database_url)
        self._publisher: Any = None
        self._audit = NumberAudit()
        self._audited_at = float("-inf")

    @property
    def healthy(self) -> bool:
        return super().healthy and time.monotonic() - self._audited_at < STALE_AFTER

    def within(self, connection: Connection, changes: Sequence[Change]) -> int:
        # Taken in the unit's transaction: a committed change always has its number.
        return int(connection.execute(NEXT_NUMBER).scalar_one())

    async def publish(self, changes: Sequence[Change], number: int | None = None) -> None:
        await super().publish(changes)
        try:
            if self._publisher is None:
                self._publisher = aioredis.from_url(
                    self._url, socket_timeout=1, socket_connect_timeout=1
                )
            head = "" if number is None else str(number)
            await self._publisher.publish(CHANNEL, f"{head} {encode(changes)}")
        except Exception as exc:
            # The others did not hear it, though the change is made (committed). Their audit
            # finds its number unheard and they stop trusting their caches.
            log.error("could not publish a change to Redis: %s", exc)

    async def stop(self) -> None:
        await super().stop()
        if self._publisher is not None:
            with contextlib.suppress(Exception):
                await self._publisher.aclose()
            self._publisher = None

    def _heard(self, payload: str) -> None:
        head, _, changes = payload.partition(" ")
        if head.isdigit():
            self._audit.heard(int(head))
        super()._heard(changes)

    async def _listen(self, connected: asyncio.Event) -> None:
        numbers = await asyncpg.connect(
            self._dsn, timeout=5, server_settings={"application_name": AUDITOR_NAME}
        )
        client = aioredis.from_url(self._url, socket_connect_timeout=2, socket_timeout=None)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            self._audited_at = float("-inf")  # healthy again only once the numbers are read
            self._up(connected)
            last = await numbers.fetchval(LAST_NUMBER, timeout=STALE_AFTER)
            self._audit.restart(last, time.monotonic())
            self._audited_at = time.monotonic()
            pinged = time.monotonic()
            await pubsub.ping()
            while True:
                due = pinged + HEARTBEAT - time.monotonic()
                message = await pubsub.get_message(timeout=max(due, 0.0))
                if message is not None:
                    if message["type"] == "message":
                        self._heard(message["data"].decode())
                    elif message["type"] == "pong":
                        self._proved_at = time.monotonic()
                if time.monotonic() - pinged >= HEARTBEAT:
                    pinged = time.monotonic()
                    await pubsub.ping()
                    await self._check_numbers(numbers)
                if time.monotonic() - self._proved_at > STALE_AFTER * 2:
                    raise ConnectionError("Redis stopped answering")
        finally:
            self._connected = False
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await client.aclose()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(numbers.close(), timeout=1)

    async def _check_numbers(self, numbers: asyncpg.Connection) -> None:
        last = await numbers.fetchval(LAST_NUMBER, timeout=STALE_AFTER)
        if self._audit.overdue(last, time.monotonic()):
            log.warning("a change number went unheard: caches drop what they hold")
            self._log.mark_gap()
        self._audited_at = time.monotonic()
