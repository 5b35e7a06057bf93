"""Several authgate instances as several hosts would run them: separate data folders, one
PostgreSQL database made for the test, and (optionally) a Redis server of the test's own."""

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from authgate.feeds import LISTENER_NAME
from tests.conftest import IN_CI
from tests.e2e.served import SRC, TEST_ENV, Server, free_port, start_server, stop_server
from tests.postgres.conftest import PG_DSN, _admin, _reachable, _url

SECRET = "cluster-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
REDIS_SERVER = shutil.which("redis-server")


def require_postgres() -> None:
    problem = asyncio.run(_reachable())
    if problem:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (the instances migrate it); its SQLAlchemy URL."""
    require_postgres()
    name = f"authgate_e2e_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield _url(name)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket_to(self.port):
                return
            time.sleep(0.05)
        pytest.fail(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """Stop this test's own Redis (by its pid; never the machine's)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None


def socket_to(port: int):  # type: ignore[no-untyped-def]
    import socket

    return socket.create_connection(("127.0.0.1", port), timeout=0.5)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis server of the test's own on a free port, stopped at teardown."""
    if REDIS_SERVER is None:
        if IN_CI:
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    server = RedisServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def instances(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start an instance of `authgate serve` as a host of its own would: its own data folder,
    the shared database (and Redis) from `env`."""
    started: list[Server] = []

    def start(database_url: str, *args: str, redis_url: str | None = None,
              env: dict[str, str] | None = None) -> Server:  # fmt: skip
        settings = {"AUTHGATE_DATABASE_URL": database_url, "AUTHGATE_SECRET_KEY": SECRET}
        if redis_url:
            settings["AUTHGATE_REDIS_URL"] = redis_url
        data_dir = tmp_path / f"host-{len(started)}"
        return start_server(
            args, env={**settings, **(env or {})}, data_dir=data_dir, timeout=None,
            started=started,
        )  # fmt: skip

    yield start
    for server in started:
        stop_server(server)


def create_admin(database_url: str, data_dir: Path, username: str, password: str) -> None:
    environment = {
        **os.environ, **TEST_ENV, "PYTHONPATH": str(SRC), "AUTHGATE_DATA_DIR": str(data_dir),
        "AUTHGATE_DATABASE_URL": database_url, "AUTHGATE_SECRET_KEY": SECRET,
    }  # fmt: skip
    subprocess.run(
        [sys.executable, "-m", "authgate", "create-admin", username, "--password-stdin"],
        input=f"{password}\n".encode(), env=environment, check=True, capture_output=True,
        timeout=60,
    )  # fmt: skip


def within(seconds: float, check: Callable[[], bool], every: float = 0.02) -> float:
    """Poll `check` until it holds; how long that took. Fails past `seconds`."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            pytest.fail(f"not within {seconds}s")
        time.sleep(every)
    return time.monotonic() - started


async def listener_pids(database_url: str) -> list[int]:
    """The backends of the instances' change-feed listeners (LISTEN on the feed's channel)."""
    connection = await asyncpg.connect(PG_DSN)
    try:
        name = database_url.rsplit("/", 1)[1]
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
            name, LISTENER_NAME,
        )  # fmt: skip
        return [row["pid"] for row in rows]
    finally:
        await connection.close()


def get(server: Server, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.get(f"{server.url}{path}", timeout=10, **kwargs)


def post(server: Server, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.post(f"{server.url}{path}", timeout=10, **kwargs)
