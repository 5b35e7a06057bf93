"""The background sender: every process runs one; the outbox's leases keep them from colliding.

Each sender claims a batch of due mails (a lease of `mail_lease` seconds), hands them to the
transport over one connection, and records each outcome as soon as it is known. A failed
attempt is retried after `mail_retry_base` seconds, doubled each time up to `mail_retry_max`;
only a refusal for good (an unknown recipient) ends the tries. A sender idles until the
soonest pending mail is due, at most `mail_poll_interval` seconds (so it sees mail queued by
other processes and instances), or until a route of its own process queues one (`wake`).

A mail is sent at most once while senders live. A sender that dies between handing a mail
over and recording it leaves it claimed, and the mail goes again once the lease lapses; one
that is stopped gives back what it holds at once (`stop`).
"""

import asyncio
import contextlib
import logging
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import Row

from authgate.db import Database, utcnow
from authgate.mail import outbox
from authgate.mail.transport import PermanentFailure, Transport
from authgate.settings import Settings

log = logging.getLogger("authgate.mail")
BATCH = 20
STOP_GRACE = 5.0  # seconds a stopping sender may take to finish the mail in hand


class MailSender:
    def __init__(
        self, db: Database, transport: Transport, settings: Settings, *, batch: int = BATCH
    ) -> None:
        self.db, self.transport, self.batch = db, transport, batch
        self.owner = secrets.token_hex(8)
        self.poll_interval = settings.mail_poll_interval
        self.retry_base, self.retry_max = settings.mail_retry_base, settings.mail_retry_max
        self.lease = settings.mail_lease
        # Never start a mail whose lease could lapse before the server has answered.
        self.margin = timedelta(seconds=settings.smtp_timeout if settings.smtp_host else 5)
        self.delivered = 0  # mails this sender handed over, for tests and curious operators
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"mail-sender-{self.owner}")

    async def stop(self) -> None:
        """Let the sender finish the mail in hand (at most `STOP_GRACE` seconds), then stop it.

        Not a bare cancel: one that lands inside a database call can leave its connection
        waiting forever (asyncpg), and the app's shutdown with it.
        """
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        # Whatever this sender still holds is free at once for the next sender, rather than
        # when its lease lapses. A mail the server had just accepted when a cancel came may so
        # be sent twice: at least once, never lost.
        with contextlib.suppress(Exception):
            await self.db.write(lambda c: outbox.release_owned_in(c, self.owner))

    def wake(self) -> None:
        """Look for due mail now: this process has just queued some."""
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                handled = await self.send_due()
                wait = 0.0 if handled else await self._idle_time()
            except Exception:
                log.exception("mail sender: the outbox could not be read")
                handled, wait = 0, self.poll_interval
            if wait > 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)

    async def _idle_time(self) -> float:
        due = await self.db.read(outbox.next_due_in)
        if due is None:
            return self.poll_interval
        return min(self.poll_interval, max(0.0, (due - utcnow()).total_seconds()))

    async def send_due(self) -> int:
        """Claim one batch of due mails and try each; returns how many were claimed."""
        claimed = await self.db.write(
            lambda c: outbox.claim_in(c, self.owner, lease=self.lease, limit=self.batch)
        )
        if claimed:
            await self._deliver(claimed)
        return len(claimed)

    async def _deliver(self, claimed: list[Row[Any]]) -> None:
        pending = list(claimed)
        try:
            async with self.transport.connect() as send:
                while pending and not self._stopping:
                    mail = pending[0]
                    if utcnow() + self.margin >= mail.claimed_until:
                        break
                    await self._try(send, mail)
                    pending.pop(0)
        except Exception as exc:  # the connection or a mail failed: the rest wait their turn
            log.warning("mail sender: %s: %s", type(exc).__name__, exc)
            failed, pending = pending, []
            for mail in failed:
                await self._failed(mail, f"{type(exc).__name__}: {exc}", permanent=False)
        finally:
            if pending:  # not tried: near the lease's end, or this sender is stopping
                ids = [mail.id for mail in pending]
                await self.db.write(lambda c: outbox.release_in(c, self.owner, ids))

    async def _try(self, send: Any, mail: Row[Any]) -> None:
        try:
            await send(mail.id, mail.recipient, mail.message)
        except PermanentFailure as exc:
            log.warning("mail %s to %s refused for good: %s", mail.id, mail.recipient, exc)
            await self._failed(mail, str(exc), permanent=True)
            return
        self.delivered += 1
        await self.db.write(lambda c: outbox.mark_sent_in(c, self.owner, mail.id))

    async def _failed(self, mail: Row[Any], error: str, *, permanent: bool) -> None:
        retry_in = None if permanent else self.backoff(mail.attempts)
        await self.db.write(
            lambda c: outbox.mark_failed_in(c, self.owner, mail.id, error, retry_in=retry_in)
        )

    def backoff(self, attempts: int) -> float:
        return min(self.retry_max, self.retry_base * 2 ** max(0, attempts - 1))
