"""How long a mail takes from the request to an SMTP server's acceptance.

Starts a real `authgate serve --workers 2` (SQLite, default mail poll interval of 2 s) and an
aiosmtpd server, then measures request -> mail accepted:

1. idle: 20 password-reset requests one at a time, the sender idle between them;
2. burst: 200 password-reset requests at once (200 accounts, 32 in flight at a time).

    PYTHONPATH=src:. .venv/bin/python -m bench.mail_delay

Measured on a 2-core machine shared with other test runs (load 2-5), three runs: idle sender,
median 11-21 ms (max 34 ms); burst of 200, median 0.6-1.05 s, p95 0.7-1.5 s, max 0.8-1.9 s,
every mail accepted 1.3-2.7 s after the first request (the requests themselves took 1-2.2 s).
The worker that queues a mail wakes its own sender, hence no poll delay when idle.
"""

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from tests.conftest import TEST_SECRET
from tests.e2e.served import free_port, start_server, stop_server
from tests.helpers import PASSWORD
from tests.mail.smtp import SmtpServer

USERS, IDLE_RUNS, IN_FLIGHT = 200, 20, 32


def _report(name: str, delays: list[float]) -> None:
    ms = sorted(d * 1000 for d in delays)
    p95 = ms[int(len(ms) * 0.95) - 1]
    print(f"{name}: n={len(ms)} median={statistics.median(ms):.1f} ms "
          f"p95={p95:.1f} ms max={ms[-1]:.1f} ms")  # fmt: skip


async def _wait(smtp: SmtpServer, count: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while len(smtp.mails) < count:
        assert time.monotonic() < deadline, f"{len(smtp.mails)} of {count}"
        await asyncio.sleep(0.005)


async def _measure(base: str, smtp: SmtpServer) -> None:
    limit = asyncio.Semaphore(IN_FLIGHT)
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def create(n: int) -> None:
            body = {"username": f"user{n}", "password": PASSWORD, "email": f"u{n}@example.com"}
            async with limit:
                assert (await client.post("/account/create-account", json=body)).status_code == 201

        await asyncio.gather(*(create(n) for n in range(USERS)))
        await _wait(smtp, USERS)
        await asyncio.sleep(3)  # every sender idle again
        smtp.mails.clear()

        delays = []
        for n in range(IDLE_RUNS):
            sent = time.time()
            await client.post("/account/password-reset", json={"email": f"u{n}@example.com"})
            await _wait(smtp, n + 1)
            delays.append(smtp.mails[n].received_at - sent)
            await asyncio.sleep(0.5)
        _report("idle sender", delays)
        await asyncio.sleep(3)
        smtp.mails.clear()

        asked: dict[str, float] = {}

        async def reset(n: int) -> None:
            async with limit:
                asked[f"u{n}@example.com"] = time.time()
                await client.post("/account/password-reset", json={"email": f"u{n}@example.com"})

        start = time.time()
        await asyncio.gather(*(reset(n) for n in range(USERS)))
        answered = time.time()
        await _wait(smtp, USERS)
        delays = [mail.received_at - asked[mail.recipients[0]] for mail in smtp.mails]
        _report(f"burst of {USERS}", delays)
        print(f"burst: all {USERS} answered in {answered - start:.2f} s, "
              f"all mails accepted {max(m.received_at for m in smtp.mails) - start:.2f} s "
              "after the first request")  # fmt: skip


def main() -> None:
    smtp = SmtpServer()
    smtp.start()
    port, started = free_port(), []
    env = {"AUTHGATE_SECRET_KEY": TEST_SECRET, "AUTHGATE_SMTP_HOST": "127.0.0.1",
           "AUTHGATE_SMTP_PORT": str(smtp.port), "AUTHGATE_SMTP_SECURITY": "none"}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        try:
            server = start_server(("--workers", "2"), data_dir=Path(folder), env=env,
                                  timeout=None, started=started, port=port)  # fmt: skip
            asyncio.run(_measure(server.url, smtp))
        finally:
            for each in started:
                stop_server(each)
            smtp.stop()


if __name__ == "__main__":
    main()
