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


def run_cli(database_url: str, data_dir: Path, *args: str, env: dict[str, str] | None = None,
            stdin: str = "") -> subprocess.CompletedProcess[str]:  # fmt: skip
    """`python -m authgate ARGS` as an operator on another host would run it."""
    environment = {
        **os.environ, **TEST_ENV, "PYTHONPATH": str(SRC), "AUTHGATE_DATA_DIR": str(data_dir),
        "AUTHGATE_DATABASE_URL": database_url, "AUTHGATE_SECRET_KEY": SECRET, **(env or {}),
    }  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "authgate", *args], input=stdin, env=environment,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def create_admin(database_url: str, data_dir: Path, username: str, password: str) -> None:
    run_cli(database_url, data_dir, "create-admin", username, "--password-stdin",
            stdin=f"{password}\n")  # fmt: skip


def within(seconds: float, check: Callable[[], bool], every: float = 0.02) -> float:
    """Poll `check` until it holds; how long that took. Fails past `seconds`."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            pytest.fail(f"not within {seconds}s")
        time.sleep(every)
    return time.monotonic() - started


async def listener_pids(database_url: str, application: str = LISTENER_NAME) -> list[int]:
    """The backends of the instances' change-feed listeners (LISTEN on the feed's channel), or
    of their other connections named `application`."""
    connection = await asyncpg.connect(PG_DSN)
    try:
        name = database_url.rsplit("/", 1)[1]
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
            name, application,
        )  # fmt: skip
        return [row["pid"] for row in rows]
    finally:
        await connection.close()


def get(server: Server, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.get(f"{server.url}{path}", timeout=10, **kwargs)


def post(server: Server, path: str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.post(f"{server.url}{path}", timeout=10, **kwargs)


# --- Faults: a PostgreSQL server of the test's own, log lines, sockets, Redis subscribers ---

PG_BINARIES = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


@dataclass
class PostgresCluster:
    """A PostgreSQL cluster of the test's own (initdb into a tmp dir), on a free port; stopped
    and started by `pg_ctl` on its own data folder, never the machine's server."""

    port: int
    folder: Path
    bin_dir: Path
    as_postgres: bool  # run the binaries as the `postgres` OS user (the test runs as root)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, program: str, *args: str) -> None:
        command = [str(self.bin_dir / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, timeout=120, cwd=self.folder)
        if result.returncode != 0:
            log = self.folder / "postgres.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} {args} failed: {result.stderr.decode()}\n{tail}")

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres",
                 "--no-sync", "-E", "UTF8")  # fmt: skip

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=100")  # fmt: skip
        self.run("pg_ctl", "-D", str(self.data), "-o", options,
                 "-l", str(self.folder / "postgres.log"), "-w", "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def is_running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    async def execute(self, sql: str) -> None:
        connection = await asyncpg.connect(self.dsn(), timeout=5)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A started PostgreSQL cluster of the test's own; stopped and removed afterwards.

    Skips (fails under CI=true) when PostgreSQL's server binaries are not installed, or when
    the test runs as root and there is no `postgres` OS user to run them as."""
    import pwd
    import tempfile

    def unavailable(reason: str) -> None:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)

    if not PG_BINARIES:
        unavailable("PostgreSQL's server binaries (/usr/lib/postgresql/*/bin/initdb) are absent")
    as_postgres = os.geteuid() == 0
    folder = Path(tempfile.mkdtemp(prefix="authgate-pg-"))
    if as_postgres:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder)
            unavailable("running as root, and there is no postgres OS user to run initdb as")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    folder.chmod(0o700)
    cluster = PostgresCluster(free_port(), folder, PG_BINARIES[-1].parent, as_postgres)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        if cluster.is_running():
            with contextlib.suppress(Exception):
                cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


def log_count(server: Server, line: str) -> int:
    """How many times `line` appears in the server's log (stdout and stderr)."""
    return server.log.read_text(errors="replace").count(line)


def established_to(port: int) -> int:
    """How many TCP connections the kernel holds established with local port `port` (the
    server ends of the connections to a server listening there)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                    count += 1
    return count


def redis_subscribers(redis_url: str, channel: str) -> int:
    """How many connections Redis has subscribed to `channel` (-1 when it does not answer)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
    try:
        return int(dict(client.pubsub_numsub(channel)).get(channel.encode(), 0))
    except redis.RedisError:
        return -1
    finally:
        client.close()


class TcpProxy:
    """A TCP relay on 127.0.0.1 to a local port, whose connections the test can cut (a network
    blip) while holding new ones for a while before relaying them (a slow reconnection)."""

    def __init__(self, target_port: int) -> None:
        import socket
        import threading

        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._held_until = 0.0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{database}"

    def cut(self, hold: float = 0.0) -> None:
        """Close every relayed connection now; hold new ones `hold` seconds before relaying."""
        import socket

        with self._lock:
            self._held_until = time.monotonic() + hold
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.cut()

    def _accept(self) -> None:
        import threading

        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client) -> None:  # type: ignore[no-untyped-def]
        import socket
        import threading

        with self._lock:
            wait = self._held_until - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._sockets.update((client, upstream))

        def pump(source: socket.socket, sink: socket.socket) -> None:
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:
                pass
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
