"""The token API against a served `authgate serve --workers 2` (EdDSA keys made at start-up).

Which worker served a response is asked of the kernel (`Server.worker_of`, tests/e2e/served.py),
so the tests can log out through one worker and prove the other refuses the token at once.
"""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.accounts.test_walkthrough import walk_through
from tests.e2e.served import Server, start_server, stop_server
from tests.helpers import PASSWORD

NO_PROC = not Path("/proc/net/tcp").exists()
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(NO_PROC, reason="needs Linux /proc")]


class Connection:
    """One keep-alive connection (an httpx client limited to it): one worker serves it."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = httpx.Client(
            base_url=server.url, timeout=30, limits=httpx.Limits(max_connections=1)
        )
        self.last: httpx.Response | None = None

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.last = self.http.request(method, path, json=body, headers=headers)
        data = self.last.json() if self.last.content else {}
        return self.last.status_code, data

    def worker(self) -> int | None:
        """The worker that served the last request on this connection."""
        assert self.last is not None
        return self.server.worker_of(self.last)

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One two-worker server for the module: starting one costs seconds."""
    started: list[Server] = []
    data_dir = tmp_path_factory.mktemp("tokens-e2e")
    env = {"AUTHGATE_JWT_ALGORITHM": "EdDSA"}
    try:
        yield start_server(
            ["--workers", "2"], data_dir=data_dir, env=env, timeout=None, started=started
        )
    finally:
        for served in started:
            stop_server(served)


@pytest.fixture
def connections() -> Iterator[list[Connection]]:
    opened: list[Connection] = []
    yield opened
    for connection in opened:
        connection.close()


def per_worker(server: Server, count: int, opened: list[Connection]) -> list[list[Connection]]:
    """`count` open connections on each of the two workers."""
    workers: dict[int, list[Connection]] = {}
    deadline = time.monotonic() + 60
    while not (len(workers) == 2 and all(len(c) >= count for c in workers.values())):
        assert time.monotonic() < deadline, f"connections landed on {len(workers)} worker(s) only"
        batch = [Connection(server) for _ in range(8)]
        opened.extend(batch)
        with ThreadPoolExecutor(len(batch)) as pool:
            list(pool.map(lambda c: c.call("GET", "/health"), batch))
        for connection in batch:
            pid = connection.worker()
            if pid is not None:
                workers.setdefault(pid, []).append(connection)
    return [found[:count] for found in workers.values()]


def log_in(connection: Connection, username: str) -> dict:
    status, _ = connection.call(
        "POST", "/account/create-account", {"username": username, "password": PASSWORD}
    )
    assert status in (201, 400)
    status, body = connection.call(
        "POST", "/account/login", {"username": username, "password": PASSWORD}
    )
    assert status == 200, body
    return body


def test_concurrent_refreshes_with_one_token_have_exactly_one_winner(server, connections):
    first, second = per_worker(server, 8, connections)
    pair = log_in(first[0], "racer")
    racers = first + second
    start = threading.Barrier(len(racers))

    def refresh(connection: Connection):
        start.wait(timeout=30)
        return connection.call("POST", "/account/refresh", {"refresh": pair["refresh"]})

    with ThreadPoolExecutor(len(racers)) as pool:
        results = list(pool.map(refresh, racers))
    # Both worker processes answered some of the racing requests.
    assert len({racer.worker() for racer in racers}) == 2
    statuses = [status for status, _ in results]
    assert statuses.count(200) == 1, statuses
    assert all(body["code"] == "token_reused" for status, body in results if status != 200)
    # The losers presented a spent token: the session ended, the winner's new pair with it.
    (winner,) = [body for status, body in results if status == 200]
    status, body = first[0].call("POST", "/account/refresh", {"refresh": winner["refresh"]})
    assert (status, body["code"]) == (401, "token_revoked")


def test_logout_on_one_worker_is_seen_by_the_other(server, connections):
    (a,), (b,) = per_worker(server, 1, connections)
    pair = log_in(a, "walker")
    # Worker B checks the token once, so the live session state sits in its cache.
    assert b.call("GET", "/account/me", token=pair["access"])[0] == 200
    status, _ = a.call(
        "POST", "/account/logout", {"refresh": pair["refresh"]}, token=pair["access"]
    )
    assert status == 200
    status, body = b.call("GET", "/account/me", token=pair["access"])
    assert (status, body["code"]) == (401, "token_revoked")
    assert a.worker() != b.worker()


def test_logout_all_on_one_worker_is_seen_by_the_other(server, connections):
    (a,), (b,) = per_worker(server, 1, connections)
    phone, laptop = log_in(a, "traveller"), log_in(b, "traveller")
    for connection in (a, b):
        for pair in (phone, laptop):
            assert connection.call("GET", "/account/me", token=pair["access"])[0] == 200
    assert a.call("POST", "/account/logout-all", token=phone["access"])[0] == 200
    for pair in (phone, laptop):
        status, body = b.call("GET", "/account/me", token=pair["access"])
        assert (status, body["code"]) == (401, "token_revoked")
    assert a.worker() != b.worker()


def test_both_workers_publish_and_use_one_key(server, connections):
    (a,), (b,) = per_worker(server, 1, connections)
    assert a.call("GET", "/.well-known/jwks.json") == b.call("GET", "/.well-known/jwks.json")
    assert len(a.call("GET", "/.well-known/jwks.json")[1]["keys"]) == 1


async def test_the_tutorial_walk_through_against_the_served_process(server):
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        await walk_through(client)
