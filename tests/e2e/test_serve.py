"""`authgate serve` as a process: it migrates first, serves, and refuses unsafe settings."""

import os
import re
import time

import httpx
import pytest

from tests.e2e.served import START_TIMEOUT

pytestmark = pytest.mark.e2e


def test_serve_migrates_then_serves(serve):
    server = serve()
    assert (server.data_dir / "authgate.db").exists()
    assert (server.data_dir / "secret_key").stat().st_mode & 0o777 == 0o600
    response = httpx.get(f"{server.url}/api/info", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "operational"
    assert response.headers["x-api-version"] == response.json()["version"]
    response = httpx.post(
        f"{server.url}/signup", json={"username": "served", "password": "correct-horse-battery"}
    )
    assert response.status_code == 201, response.text


def test_unsafe_settings_stop_serve_with_a_message(serve):
    with pytest.raises(pytest.fail.Exception, match="AUTHGATE_SECRET_KEY must be at least 32"):
        serve(env={"AUTHGATE_SECRET_KEY": "too-short"}, timeout=30)


def hashing_threads(server, workers: int) -> list[int]:  # type: ignore[no-untyped-def]
    """What each worker of `server` says at start-up: the threads it hashes passwords on
    (one worker may answer /health while the other still starts)."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        found = re.findall(r"password hashing threads: (\d+)", server.log.read_text())
        if len(found) >= workers or time.monotonic() > deadline:
            return [int(count) for count in found]
        time.sleep(0.1)


def test_workers_share_the_cpus_for_hashing(serve):
    # Two workers with a hashing thread per CPU each would double the threads the CPUs take
    # turns on: the workers split them instead.
    cpus = len(os.sched_getaffinity(0))
    server = serve("--workers", "2")
    assert hashing_threads(server, 2) == [max(1, cpus // 2)] * 2


def test_hash_threads_set_explicitly_hold_for_every_worker(serve):
    server = serve("--workers", "2", env={"AUTHGATE_HASH_THREADS": "3"})
    assert hashing_threads(server, 2) == [3, 3]
