"""What the browser CORS tests run against: a served authgate process and static front ends."""

import contextlib
import functools
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI, TEST_SECRET
from tests.helpers import PASSWORD

REPO = Path(__file__).resolve().parents[2]
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
START_TIMEOUT = 60.0
ADMIN = "root"


def require_chromium() -> None:
    """Skip (fail under CI=true) when Debian's Chromium is not installed."""
    if CHROMIUM.exists():
        return
    reason = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served_env(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    env.update(
        PYTHONPATH=str(REPO / "src"),
        AUTHGATE_DATA_DIR=str(data_dir),
        AUTHGATE_SECRET_KEY=TEST_SECRET,
        AUTHGATE_RATE_LIMIT_ENABLED="false",
        AUTHGATE_ARGON2_TIME_COST="1",
        AUTHGATE_ARGON2_MEMORY_COST="1024",
    )
    env.update({f"AUTHGATE_{k.upper()}": v for k, v in settings.items()})
    return env


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
def served(data_dir: Path, *args: str, scheme: str = "http", **settings: str) -> Iterator[Served]:
    """`authgate serve` on a free port, with an admin `root`."""
    env = served_env(data_dir, **settings)
    command = [sys.executable, "-m", "authgate"]
    created = Served("", env).command("create-admin", ADMIN, "--password-stdin")
    assert created.returncode == 0, created.stderr
    port = free_port()
    log = (data_dir / "serve.log").open("wb")
    process = subprocess.Popen(
        [*command, "serve", "--port", str(port), *args],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"{scheme}://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process, data_dir / "serve.log")
        yield Served(base, env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


def _wait_healthy(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"authgate serve exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health", timeout=1, verify=False).status_code == 200:
                return
        time.sleep(0.05)
    pytest.fail(f"authgate serve did not answer within {START_TIMEOUT} s:\n{log.read_text()}")


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
