"""With `authgate serve --workers 2`, one scrape of /metrics counts every worker's requests."""

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.served import Server

pytestmark = pytest.mark.e2e

WORKERS = 2
BATCH = 8
PHASE_TIMEOUT = 60.0
MAX_REQUESTS = 600


async def _on_fresh_connection(server: Server, path: str) -> int | None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        response = await client.get(path)
        assert response.status_code == 404
        return server.worker_of(response)


def _count(text: str, route: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "authgate_http_requests_total" and sample.labels["route"] == route:
                total += sample.value
    return total


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="workers are told apart by /proc")
async def test_one_scrape_counts_every_worker(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve("--workers", str(WORKERS))
    served: Counter[int] = Counter()
    deadline, sent = time.monotonic() + PHASE_TIMEOUT, 0
    while time.monotonic() < deadline and sent < MAX_REQUESTS:
        batch = [_on_fresh_connection(server, f"/items/x{sent + n}") for n in range(BATCH)]
        for pid in await asyncio.gather(*batch):
            if pid is not None:
                served[pid] += 1
        sent += BATCH
        if len(served) >= WORKERS and min(served.values()) >= 3:
            break
    assert len(served) == WORKERS, dict(served)
    for _ in range(4):  # whichever worker answers the scrape, it counts them all
        scraped = httpx.get(f"{server.url}/metrics", timeout=10)
        assert scraped.status_code == 200
        assert _count(scraped.text, "/items/{item_id}") == sent
    assert (server.data_dir / "metrics").is_dir()
    log = server.log.read_text()
    assert '"logger": "authgate.request"' in log  # JSON lines: the output is not a terminal
