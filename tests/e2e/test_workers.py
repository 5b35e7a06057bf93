"""A log-out is honoured at once by every worker of `authgate serve --workers 2`."""

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.e2e.served import Server
from tests.helpers import PASSWORD

pytestmark = pytest.mark.e2e

WORKERS = 2
BATCH = 8  # concurrent fresh connections: a busy worker leaves the next one to the other
PHASE_TIMEOUT = 60.0
MAX_REQUESTS = 600


async def on_fresh_connection(server: Server, cookies: dict[str, str], path: str):  # type: ignore[no-untyped-def]
    """PUT `path` as the cookie session on a brand-new connection; (worker pid, response)."""
    headers = {"X-CSRF-Token": cookies["csrftoken"]}
    async with httpx.AsyncClient(base_url=server.url, cookies=cookies, timeout=30) as client:
        response = await client.put(path, headers=headers)
        return server.worker_of(response), response


async def until_every_worker_answered(server, cookies, check):  # type: ignore[no-untyped-def]
    """Send batches on fresh connections until each worker served a few; check each answer."""
    served: Counter[int] = Counter()
    deadline, sent = time.monotonic() + PHASE_TIMEOUT, 0
    while time.monotonic() < deadline and sent < MAX_REQUESTS:
        batch = [
            on_fresh_connection(server, cookies, f"/items/e2e?name=n&size={sent + n}")
            for n in range(BATCH)
        ]
        for pid, response in await asyncio.gather(*batch):
            check(response)
            if pid is not None:
                served[pid] += 1
        sent += BATCH
        if len(served) >= WORKERS and min(served.values()) >= 3:
            return served
    pytest.fail(f"not every worker answered within {sent} requests: {dict(served)}")


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="workers are told apart by /proc")
async def test_logout_on_one_worker_is_honoured_by_the_other(serve):
    server = serve("--workers", str(WORKERS))
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as browser:
        signed_up = await browser.post("/signup", json={"username": "e2e", "password": PASSWORD})
        assert signed_up.status_code == 201, signed_up.text
        browser.cookies.clear()
        logged_in = await browser.post("/login", data={"username": "E2E", "password": PASSWORD})
        assert logged_in.status_code == 200, logged_in.text
        cookies = {name: browser.cookies[name] for name in ("sessionid", "csrftoken")}

    def accepted(response: httpx.Response) -> None:
        assert response.status_code in (200, 201), response.text

    # Warm both workers: each has now checked this session and cached it as live.
    warmed = await until_every_worker_answered(server, cookies, accepted)
    assert len(warmed) == WORKERS

    async with httpx.AsyncClient(base_url=server.url, cookies=cookies, timeout=30) as browser:
        logged_out = await browser.post("/logout", headers={"X-CSRF-Token": cookies["csrftoken"]})
        assert logged_out.status_code == 200, logged_out.text
        assert server.worker_of(logged_out) in warmed

    def revoked(response: httpx.Response) -> None:
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "token_revoked"

    # Every request after the log-out, whichever worker serves it, is refused.
    refused = await until_every_worker_answered(server, cookies, revoked)
    assert set(refused) == set(warmed)
