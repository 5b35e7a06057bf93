"""Which origins may call the API: settings (list and regex) plus the run-time set in the database.

The CORS middleware asks on every cross-origin request, synchronously, so the answer must
come from memory: the run-time set is loaded once and reloaded only when the change feed
says the origins changed (or that it may have missed a change). A small task reads the feed
every `POLL_INTERVAL` seconds, which keeps the database off the request path altogether,
even while it is slow or unreachable (the last known set holds).
"""

import asyncio
import contextlib
import logging
import re

from authgate.changes import Subscription, Topic
from authgate.cors import service
from authgate.db import Database
from authgate.settings import Settings

POLL_INTERVAL = 0.5  # seconds; the contract gives every process 2 s to honour a change
RETRY_AFTER_FAILURE = 5.0  # seconds: no hammering of a database that is down
STOP_TIMEOUT = 5.0
log = logging.getLogger("authgate.cors")


class OriginRegistry:
    def __init__(
        self, settings: Settings, db: Database, *, interval: float = POLL_INTERVAL
    ) -> None:
        self.allow_all = "*" in settings.cors_origins
        self.static = tuple(dict.fromkeys(o for o in settings.cors_origins if o != "*"))
        self.regex = settings.cors_origin_regex
        self._static = frozenset(self.static)
        self._pattern = re.compile(self.regex) if self.regex else None
        self._db = db
        self._changes = Subscription(db.feed)
        self._interval = interval
        self._dynamic: frozenset[str] = frozenset()
        self._stale = True
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._lock = asyncio.Lock()

    @property
    def dynamic(self) -> frozenset[str]:
        return self._dynamic

    def is_allowed(self, origin: str) -> bool:
        """Whether `origin` (as the browser sent it) is allowed; memory only, no I/O."""
        if origin in self._static or origin in self._dynamic:
            return True
        return self._pattern is not None and self._pattern.fullmatch(origin) is not None

    async def refresh(self) -> bool:
        """Reload the run-time origins if they changed; True when it reloaded."""
        # One reload at a time: an older read finishing last must not undo a newer one.
        async with self._lock:
            # Read the feed first: a change committed during the query shows up at the next
            # check, which reloads once more instead of trusting what may be a stale read.
            changes = self._changes.poll()
            # A feed that is not healthy, or a gap, says nothing of what changed: reload.
            if (
                not self._changes.healthy
                or changes is None
                or any(change.topic is Topic.CORS for change in changes)
            ):
                self._stale = True
            if not self._stale:
                return False
            self._dynamic = frozenset(await self._db.read(service.list_origins))
            self._stale = False
            return True

    async def start(self) -> None:
        """Load the run-time origins and watch for changes until `stop`."""
        delay = self._interval if await self._refresh_logged() else RETRY_AFTER_FAILURE
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._watch(delay), name="authgate-cors-origins")

    async def stop(self) -> None:
        """Stop watching; a reload under way may finish first (within `STOP_TIMEOUT`)."""
        if self._task is None:
            return
        # Not a bare cancel: a database call cut short leaves its driver thread answering an
        # event loop that may be closed by then.
        self._stopping.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self._task, STOP_TIMEOUT)
        self._task = None

    async def _watch(self, delay: float) -> None:
        while not await self._stopped_within(delay):
            delay = self._interval if await self._refresh_logged() else RETRY_AFTER_FAILURE

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return self._stopping.is_set()

    async def _refresh_logged(self) -> bool:
        try:
            await self.refresh()
        except Exception as exc:  # the database may be down: keep the last set, retry later
            log.warning("could not reload the CORS origins: %s", type(exc).__name__)
            return False
        return True
