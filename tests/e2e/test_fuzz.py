"""Schemathesis against a served authgate: /openapi.json is the truth.

`schemathesis run` as a user would run it, against a real `authgate serve` on 127.0.0.1 with a
fresh SQLite data folder: every operation, every check (`--checks all`: no 5xx, documented
statuses, content types, headers and bodies, invalid data rejected, *valid data accepted*,
auth not ignored, deleted resources gone...), in every phase (examples, coverage, fuzzing,
and stateful sequences along the schema's links). Any failure of any class fails the test.
The configuration and its reasons are in schemathesis.toml; who the fuzzer is, and the rules
no schema can state, in fuzz_hooks.py.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CONFIG = HERE / "schemathesis.toml"
PASSWORD = "fuzz-user-passphrase-4719"
# Bounded by the configuration's example and step budgets; this only stops a run gone wrong.
RUN_TIMEOUT = 600
# Fewer cases than this means operations were skipped or never generated: not a real run.
MIN_CASES = 1000


def test_schemathesis_finds_nothing(serve, tmp_path):
    server = serve()
    started = time.monotonic()
    run = _schemathesis(server.url, server.data_dir, tmp_path)
    elapsed = time.monotonic() - started
    output = run.stdout + run.stderr
    summary = _summary(output)
    cases = int(m[1]) if (m := re.search(r"(\d+) generated", output)) else 0
    report = f"{cases} schemathesis cases in {elapsed:.0f}s\n{summary}"
    print(report)
    assert run.returncode == 0, f"{report}\n{output[-20000:]}\n{server.log_text()}"
    assert cases >= MIN_CASES, report


def _schemathesis(url: str, data_dir: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        "AUTHGATE_FUZZ_URL": url,
        "AUTHGATE_FUZZ_DATA_DIR": str(data_dir),
        "AUTHGATE_FUZZ_PASSWORD": PASSWORD,
        "NO_COLOR": "1",
    }
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG),
        "run", f"{url}/openapi.json", "--checks", "all", "--mode", "all",
        "--phases", "examples,coverage,fuzzing,stateful", "--no-color",
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=folder, env=environment, capture_output=True, text=True,
        timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _summary(output: str) -> str:
    """The run's WARNINGS and SUMMARY sections (phases, failures, cases), or its last lines."""
    found = [at for at in (output.rfind("= WARNINGS ="), output.rfind("= SUMMARY =")) if at >= 0]
    return output[output.rfind("\n", 0, min(found)) + 1 :] if found else output[-3000:]
