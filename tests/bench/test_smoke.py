"""The bench command starts, drives real servers with wrk and prints its table (no timings
are judged here: the numbers of a tiny run on a shared machine mean nothing)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("wrk") is None and not IN_CI,
        reason="wrk is not installed (Debian package wrk; `python -m bench` installs it)",
    ),
]


def test_bench_smoke_run_prints_its_table(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "src")])
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "| scenario | conn. | req/s | p50 ms | p99 ms | CPU µs/req | × bare |" in out
    for row in (
        "bare FastAPI GET /hello",
        "GET /items/{id}",
        "PUT /items/{id} (Bearer, JSON body)",
        "POST /signup",
        "hash-bound limit",
        "mixed writes: PUT /items/{id}",
        "mixed writes: POST /account/refresh",
        "while ~50 log-outs/s run",
        "POST /account/logout behind it",
    ):
        assert row in out
    assert "with 0.0 log-outs/s achieved" not in out
    assert "Resident memory per worker" in out
    written = (tmp_path / "benchmarks.md").read_text()
    assert "## sqlite, 1 worker" in written and "### Targets (issue 9)" in written
    assert (tmp_path / "benchmarks.png").stat().st_size > 0
