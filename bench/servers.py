"""The servers under test: `authgate serve` and the bare app, as real processes on 127.0.0.1."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.client import get_status
from bench.tools import REPO

STARTED = "Application startup complete"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
IDLE_WINDOW = 0.2  # seconds
IDLE_SHARE = 0.1  # of one core: two clock ticks in a window at 100 Hz


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """One server process (and its workers), logging to a file, stopped with its whole group."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, workers: int, ready_path: str, timeout: float = 120) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*self.argv, "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.log.parent,  # not the caller's folder: no stray .env is read
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"bench: {self.name} exited at start-up:\n{self.log.read_text()[-3000:]}")
            started = self.log.read_text(errors="replace").count(STARTED)
            if started >= workers and get_status(self.port, ready_path) == 200:
                return
            time.sleep(0.2)
        self.stop()
        sys.exit(f"bench: {self.name} not ready after {timeout:.0f} s:\n{self.log.read_text()}")

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the workers, or the server itself when alone."""
        assert self.process is not None
        children = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            children += [int(p) for p in (task / "children").read_text().split()]
        workers = [pid for pid in children if b"resource_tracker" not in _cmdline(pid)]
        return workers or [self.process.pid]

    def cpu_seconds(self) -> float:
        """CPU time (user + system, every thread) used so far by the server and its workers."""
        assert self.process is not None
        pids = {self.process.pid, *self.worker_pids()}
        return sum(_cpu_ticks(pid) for pid in pids) / CLOCK_TICKS

    def wait_idle(self, timeout: float = 10.0) -> float:
        """Wait until the server has finished what a run left it (a log-in run leaves the
        hashes of requests whose clients are gone, a quarter second of both cores): under
        IDLE_SHARE of a core over IDLE_WINDOW. The seconds waited."""
        started = time.monotonic()
        before = self.cpu_seconds()
        while time.monotonic() - started < timeout:
            time.sleep(IDLE_WINDOW)
            now = self.cpu_seconds()
            if now - before <= IDLE_WINDOW * IDLE_SHARE:
                break
            before = now
        return time.monotonic() - started

    def rss_mib(self) -> list[float]:
        """Resident memory (VmRSS) of each worker, in MiB, read from /proc."""
        return [_vm_rss_kib(pid) / 1024 for pid in self.worker_pids()]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def authgate_server(workers: int, env: dict[str, str], log: Path) -> Server:
    argv = [sys.executable, "-m", "authgate", "serve", "--workers", str(workers)]
    return Server("authgate", argv, _with_pythonpath(env, REPO / "src"), log)


def bare_server(workers: int, log: Path) -> Server:
    # The same stack as `authgate serve`: uvicorn, uvloop, httptools, no access log.
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare:app",
        "--host",
        "127.0.0.1",
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--no-proxy-headers",
        "--no-server-header",
    ]
    return Server("bare FastAPI", argv, _with_pythonpath(dict(os.environ), REPO), log)


def _with_pythonpath(env: dict[str, str], path: Path) -> dict[str, str]:
    existing = env.get("PYTHONPATH")
    return {**env, "PYTHONPATH": f"{path}{os.pathsep}{existing}" if existing else str(path)}


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _cpu_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2 :].split()  # the name, in parentheses, may hold spaces
    return int(fields[11]) + int(fields[12])  # utime, stime


def _vm_rss_kib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1])
    return 0.0
