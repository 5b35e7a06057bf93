"""End-to-end fixtures: a real `python -m authgate serve` process on a free port.

`serve(*args, env=...)` starts one (its data folder in a tmp dir), waits until `/health`
answers, and returns a `Server` (tests/e2e/served.py); every process started is terminated,
then killed, at teardown. `Server.worker_of(response)` tells which worker served a response.
`chromium` is Debian's browser, headless, driven by Playwright, one per test module.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cluster import instances, own_redis, pg_database  # noqa: F401 (fixtures)
from tests.e2e.cors_rig import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.e2e.served import Server, start_server, stop_server


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start `python -m authgate serve ARGS` with `env` added; returns a healthy `Server`."""
    started: list[Server] = []

    def start(*args: str, env: dict[str, str] | None = None, data_dir: Path | None = None,
              timeout: float | None = None) -> Server:  # fmt: skip
        data_dir = data_dir or tmp_path / f"served-{len(started)}"
        return start_server(args, env=env, data_dir=data_dir, timeout=timeout, started=started)

    yield start
    for server in started:
        stop_server(server)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
