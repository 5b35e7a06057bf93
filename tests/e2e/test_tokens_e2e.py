"""The token API against a served `authgate serve --workers 2` (EdDSA keys made at start-up).

Which worker serves a connection is read from /proc: the server side of our TCP connection is
a socket inode that exactly one worker process holds. That lets the tests log out on one worker
and prove that the other worker refuses the token on its very next request.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.accounts.test_walkthrough import walk_through
from tests.helpers import PASSWORD

pytestmark = pytest.mark.e2e
SRC = Path(__file__).resolve().parents[2] / "src"
START_TIMEOUT = 60


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path


class Connection:
    """One keep-alive HTTP connection, so that one worker serves all of its requests."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = json.dumps(body) if body is not None else None
        self.http.request(method, path, body=payload, headers=headers)
        response = self.http.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else {})

    def worker(self) -> int:
        """The pid of the worker process holding the server side of this connection."""
        client_port = self.http.sock.getsockname()[1]
        inode = _server_inode(self.server.port, client_port)
        target = f"socket:[{inode}]"
        for pid in _children(self.server.process.pid):
            try:
                if any(
                    os.readlink(f"/proc/{pid}/fd/{fd}") == target
                    for fd in os.listdir(f"/proc/{pid}/fd")
                ):
                    return pid
            except OSError:
                continue
        raise AssertionError(f"no worker holds the connection from port {client_port}")


def _server_inode(port: int, client_port: int) -> str:
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
        if int(local, 16) == port and int(remote, 16) == client_port:
            return fields[9]
    raise AssertionError(f"no server socket for client port {client_port}")


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"authgate exited early:\n{server.log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{server.port}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(
        f"authgate did not answer within {START_TIMEOUT}s:\n{server.log.read_text()}"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux /proc to tell which worker serves a connection")
    folder = tmp_path_factory.mktemp("served")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    env.update(
        PYTHONPATH=str(SRC), AUTHGATE_DATA_DIR=str(folder / "data"), AUTHGATE_JWT_ALGORITHM="EdDSA",
        AUTHGATE_RATE_LIMIT_ENABLED="false", AUTHGATE_ARGON2_TIME_COST="1",
        AUTHGATE_ARGON2_MEMORY_COST="1024",
    )  # fmt: skip
    port, log = _free_port(), folder / "server.log"
    command = [sys.executable, "-m", "authgate", "serve", "--port", str(port), "--workers", "2"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=folder, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    served = Server(process, port, log)
    try:
        _wait_until_up(served)
        yield served
    finally:
        # The server and its two workers form the process group we started.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def per_worker(server: Server, count: int) -> list[list[Connection]]:
    """`count` open connections on each of the two workers."""
    workers: dict[int, list[Connection]] = {}
    deadline = time.monotonic() + 30
    while not (len(workers) == 2 and all(len(c) >= count for c in workers.values())):
        assert time.monotonic() < deadline, f"connections landed on {len(workers)} worker(s) only"
        batch = [Connection(server) for _ in range(8)]
        with ThreadPoolExecutor(len(batch)) as pool:
            list(pool.map(lambda c: c.call("GET", "/health"), batch))
        for connection in batch:
            workers.setdefault(connection.worker(), []).append(connection)
    for connections in workers.values():
        for surplus in connections[count:]:
            surplus.http.close()
    return [connections[:count] for connections in workers.values()]


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


def test_concurrent_refreshes_with_one_token_have_exactly_one_winner(server):
    first, second = per_worker(server, 8)
    pair = log_in(first[0], "racer")
    connections = first + second
    start = threading.Barrier(len(connections))

    def refresh(connection: Connection):
        start.wait(timeout=30)
        return connection.call("POST", "/account/refresh", {"refresh": pair["refresh"]})

    with ThreadPoolExecutor(len(connections)) as pool:
        results = list(pool.map(refresh, connections))
    statuses = [status for status, _ in results]
    assert statuses.count(200) == 1, statuses
    assert all(body["code"] == "token_reused" for status, body in results if status != 200)
    # The losers presented a spent token: the session ended, the winner's new pair with it.
    (winner,) = [body for status, body in results if status == 200]
    status, body = first[0].call("POST", "/account/refresh", {"refresh": winner["refresh"]})
    assert (status, body["code"]) == (401, "token_revoked")


def test_logout_on_one_worker_is_seen_by_the_other(server):
    (a,), (b,) = per_worker(server, 1)
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


def test_logout_all_on_one_worker_is_seen_by_the_other(server):
    (a,), (b,) = per_worker(server, 1)
    phone, laptop = log_in(a, "traveller"), log_in(b, "traveller")
    for connection in (a, b):
        for pair in (phone, laptop):
            assert connection.call("GET", "/account/me", token=pair["access"])[0] == 200
    assert a.call("POST", "/account/logout-all", token=phone["access"])[0] == 200
    for pair in (phone, laptop):
        status, body = b.call("GET", "/account/me", token=pair["access"])
        assert (status, body["code"]) == (401, "token_revoked")
    assert a.worker() != b.worker()


def test_both_workers_publish_and_use_one_key(server):
    (a,), (b,) = per_worker(server, 1)
    assert a.call("GET", "/.well-known/jwks.json") == b.call("GET", "/.well-known/jwks.json")
    assert len(a.call("GET", "/.well-known/jwks.json")[1]["keys"]) == 1


async def test_the_tutorial_walk_through_against_the_served_process(server):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
        await walk_through(client)
