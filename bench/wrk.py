"""Running wrk with one of bench/lua/*.lua and reading the JSON line its done() prints."""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua"
MARKER = "BENCH_JSON "


@dataclass(frozen=True)
class Load:
    """What wrk should send: a URL, a Lua script, headers, and the environment the script reads."""

    url: str
    script: str = "get.lua"
    headers: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    connections: int = 64
    threads: int = 2


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non2xx: int
    errors: int
    first_failure: str
    cpu_us: float | None = None  # server CPU time per request, when it can be attributed

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> bool:
        return self.non2xx == 0 and self.errors == 0


class WrkError(RuntimeError):
    pass


def start(wrk: str, load: Load, seconds: float) -> subprocess.Popen[str]:
    argv = [
        wrk,
        "-t",
        str(min(load.threads, load.connections)),
        "-c",
        str(load.connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA / load.script),
    ]
    for header in load.headers:
        argv += ["-H", header]
    env = {**os.environ, "BENCH_LUA_DIR": str(LUA), **dict(load.env)}
    return subprocess.Popen(
        [*argv, load.url], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str], seconds: float) -> Result:
    try:
        out, err = process.communicate(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    line = next((ln for ln in out.splitlines() if ln.startswith(MARKER)), None)
    if process.returncode != 0 or line is None:
        raise WrkError(f"wrk failed ({process.returncode}): {err.strip() or out.strip()}")
    data = json.loads(line[len(MARKER) :])
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        # wrk's own count (status >= 400) and the script's (a broken refresh chain), whichever
        # is larger: each failure is counted at least once, never as throughput.
        non2xx=max(data["non2xx"], data["failed"]),
        errors=sum(data[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")),
        first_failure=data["first_failure"],
    )


def run(wrk: str, load: Load, seconds: float) -> Result:
    return finish(start(wrk, load, seconds), seconds)
