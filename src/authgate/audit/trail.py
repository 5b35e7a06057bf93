"""The background side of the audit trail: events of requests that change nothing, and
retention.

A failed log-in or a rate-limited request changes nothing, so no transaction exists to carry
its event, and its answer must not wait for a write (an attacker's guesses would then cost us
a write each, on the request's time). `later()` queues the event in memory, a dictionary
append; a background task writes whatever is queued in one unit of work per batch, woken by
the first queued event, so batches grow with the load. `stop()` writes what is left. The queue
is bounded: past `MAX_QUEUED` unwritten events (a database down for long under a flood), the
oldest are dropped and the drop logged.

The same task deletes events older than `AUTHGATE_AUDIT_RETENTION_DAYS`, `PRUNE_BATCH` at a
time (short transactions that never hold the database for long), every `PRUNE_INTERVAL`.
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from authgate.audit import service
from authgate.audit.events import Event, EventContext, EventType
from authgate.db import Database

MAX_QUEUED = 10_000
BATCH = 500
RETRY_AFTER = 1.0  # seconds, after a failed write
PRUNE_INTERVAL = 3600.0
PRUNE_BATCH = 1000
log = logging.getLogger("authgate.audit")


class AuditTrail:
    def __init__(self, db: Database, retention_days: int) -> None:
        self._db = db
        self.retention = timedelta(days=retention_days)
        self.prune_batch = PRUNE_BATCH
        self._queue: deque[Event] = deque()
        self._wake = asyncio.Event()
        # Held while a batch is written: a flush waits for the batch in flight, whose events
        # have already left the queue.
        self._writing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._clock: Callable[[], datetime] | None = None
        self._stopping = False
        self.dropped = 0

    def later(
        self, type: EventType, context: EventContext, *, user_id: int | None = None, **detail: Any
    ) -> None:
        """Queue an event of a request that changed nothing; written soon, in a batch."""
        if len(self._queue) >= MAX_QUEUED:
            self._queue.popleft()
            self.dropped += 1
            log.warning("audit queue full: dropped the oldest unwritten event")
        self._queue.append(Event(type, context, user_id, None, detail))
        self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def flush(self) -> int:
        """Write every queued event now, a batch per unit of work, after the batch being
        written, if any; returns how many."""
        written = 0
        while True:
            async with self._writing:
                if not self._queue:
                    return written
                written += await self._write_batch()

    async def _write_batch(self) -> int:
        batch = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
        try:
            await self._db.write(lambda connection: service.record_all(connection, batch))
        except Exception:
            self._queue.extendleft(reversed(batch))  # kept, in order, for the next try
            raise
        return len(batch)

    async def prune_expired(self) -> int:
        """Delete the events older than the retention period, in bounded batches."""
        before = (self._clock or service.utcnow)() - self.retention
        removed = 0
        while True:
            count = await self._db.write(lambda c: service.prune(c, before, self.prune_batch))
            removed += count
            if count < self.prune_batch:
                return removed

    async def start(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="audit-trail")

    async def stop(self) -> None:
        if self._task is not None:
            # Asked to stop, not cancelled: a batch cancelled in the middle of its write
            # might be lost, or (committed meanwhile) written twice. The task ends after the
            # write in progress, if any.
            self._stopping = True
            self._wake.set()
            await self._task
            self._task = None
        try:
            await self.flush()
        except Exception:
            log.exception("could not write %d audit events at shutdown", len(self._queue))

    async def _run(self) -> None:
        next_prune = time.monotonic()
        while not self._stopping:
            timeout = max(0.0, next_prune - time.monotonic())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            if self._stopping:
                return
            self._wake.clear()
            try:
                await self.flush()
                if time.monotonic() >= next_prune:
                    await self.prune_expired()
                    next_prune = time.monotonic() + PRUNE_INTERVAL
            except Exception:
                log.warning("audit trail: database write failed; retrying", exc_info=True)
                await asyncio.sleep(RETRY_AFTER)  # a stop waits for this much at most
                self._wake.set()
