"""A real `python -m authgate serve` process: start it, wait for it, tell its workers apart."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
# Workers are spawned and import everything anew: on a loaded machine that takes a while.
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0
# Cheap Argon2 and no rate limits: these tests are about processes, not hashing cost.
TEST_ENV = {
    "AUTHGATE_ARGON2_TIME_COST": "1",
    "AUTHGATE_ARGON2_MEMORY_COST": "1024",
    "AUTHGATE_RATE_LIMIT_ENABLED": "false",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    data_dir: Path
    log: Path
    output: IO[bytes]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def children(self) -> set[int]:
        """The pids of the serve process's children (its workers, among others)."""
        pids: set[int] = set()
        task_dir = Path(f"/proc/{self.process.pid}/task")
        for task in task_dir.iterdir() if task_dir.exists() else ():
            with contextlib.suppress(OSError):
                pids.update(int(pid) for pid in (task / "children").read_text().split())
        return pids

    def worker_of(self, response: httpx.Response) -> int | None:
        """The worker holding the server end of the TCP connection `response` came over.

        Asked of the kernel (Linux /proc): the connection's socket inode, then which child
        process has it open. Call it while the client that sent the request is still open.
        """
        stream = response.extensions["network_stream"]
        inode = _server_socket_inode(self.port, stream.get_extra_info("client_addr")[1])
        if inode is None:
            return None
        target = f"socket:[{inode}]"
        for pid in self.children():
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                            return pid
        return None


def _server_socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the socket whose local port is the server's and remote port the client's."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if (local_port, remote_port) == (server_port, client_port):
                    return fields[9]
    return None


def start_server(
    args: Sequence[str],
    *,
    data_dir: Path,
    env: dict[str, str] | None,
    timeout: float | None,
    started: list[Server],
    port: int | None = None,
) -> Server:
    """Start `authgate serve` on `port` (default: a free one), record it in `started`, wait until
    it is healthy."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    environment = {
        **os.environ,
        **TEST_ENV,
        "PYTHONPATH": str(SRC),
        "AUTHGATE_DATA_DIR": str(data_dir),
        **(env or {}),
    }
    command = [sys.executable, "-m", "authgate", "serve", "--host", "127.0.0.1",
               "--port", str(port), *args]  # fmt: skip
    output = log.open("wb")
    process = subprocess.Popen(
        command, env=environment, cwd=data_dir, stdout=output, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,  # its own group: stoppable whole
    )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", port, process, data_dir, log, output)
    started.append(server)
    _wait_healthy(server, timeout or START_TIMEOUT)
    return server


def _wait_healthy(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"authgate serve exited with {server.process.returncode}:\n"
                        f"{server.log_text()}")  # fmt: skip
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"authgate serve did not answer /health within {timeout}s:\n{server.log_text()}")


def stop_server(server: Server) -> None:
    """Terminate the serve process and its workers (its own process group), then kill."""
    process = server.process
    with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=STOP_TIMEOUT)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers: workers that ignored SIGTERM
    process.wait(timeout=STOP_TIMEOUT)
    server.output.close()
