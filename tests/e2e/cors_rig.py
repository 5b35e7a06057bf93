"""What the browser CORS tests run against: a served authgate process and static front ends."""

import contextlib
import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI, TEST_SECRET
from tests.e2e.served import SRC, TEST_ENV, Server, start_server, stop_server
from tests.helpers import PASSWORD

FRONT = Path(__file__).resolve().parent / "front"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN = "root"


def require_chromium() -> None:
    """Skip (fail under CI=true) when Debian's Chromium is not installed."""
    if CHROMIUM.exists():
        return
    reason = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class Served:
    base: str  # http://127.0.0.1:PORT
    env: dict[str, str]  # the server's environment: run `authgate` commands against it

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `authgate ARGS` on the server's data folder, as an operator would."""
        return subprocess.run(
            [sys.executable, "-m", "authgate", *args],
            input=PASSWORD + "\n", env=self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip


@contextlib.contextmanager
def served(data_dir: Path, *args: str, **settings: str) -> Iterator[Served]:
    """`authgate serve ARGS` (tests/e2e/served.py) with `settings`, and an admin `root`."""
    env = {"AUTHGATE_SECRET_KEY": TEST_SECRET}
    env.update({f"AUTHGATE_{name.upper()}": value for name, value in settings.items()})
    full_env = {**os.environ, **TEST_ENV, "PYTHONPATH": str(SRC),
                "AUTHGATE_DATA_DIR": str(data_dir), **env}  # fmt: skip
    created = Served("", full_env).command("create-admin", ADMIN, "--password-stdin")
    assert created.returncode == 0, created.stderr
    started: list[Server] = []
    try:
        server = start_server(args, data_dir=data_dir, env=env, timeout=None, started=started)
        yield Served(server.url, full_env)
    finally:
        for server in started:
            stop_server(server)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def static_site() -> Iterator[int]:
    """The test front end (tests/e2e/front) on a free port of 127.0.0.1; yields the port."""
    handler = functools.partial(_QuietHandler, directory=str(FRONT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def admin_client(base: str) -> Iterator[httpx.Client]:
    """An httpx client logged in to `base` as the admin, CSRF header included."""
    with httpx.Client(base_url=base, timeout=10, verify=False) as client:
        response = client.post("/login", json={"username": ADMIN, "password": PASSWORD})
        response.raise_for_status()
        client.headers["X-CSRF-Token"] = response.headers["X-CSRF-Token"]
        yield client
