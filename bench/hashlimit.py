"""The hash-bound limit: how many Argon2 hashes per second this machine does, in-process.

Every log-in verifies one Argon2 hash and every sign-up computes one; nothing a server does
can beat this rate with the same parameters, so log-in and sign-up are judged against it.
"""

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pwdlib.hashers.argon2 import Argon2Hasher

PASSWORD = "hash-limit-probe-password"


@dataclass(frozen=True)
class HashLimit:
    per_second: float  # hashes per second, all threads together
    cpu_ms: float  # CPU time one hash takes


def measure(params: dict[str, int], threads: int, seconds: float) -> HashLimit:
    """`threads` threads hashing in a loop for `seconds` (argon2 releases the GIL)."""
    hasher = Argon2Hasher(**params)
    hasher.hash(PASSWORD)  # warm up: allocations, first-call costs
    deadline = time.perf_counter() + seconds

    def loop() -> tuple[int, float]:
        done, cpu = 0, time.thread_time()
        while time.perf_counter() < deadline:
            hasher.hash(PASSWORD)
            done += 1
        return done, time.thread_time() - cpu

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(lambda _: loop(), range(threads)))
    elapsed = time.perf_counter() - started
    total = sum(done for done, _ in results)
    return HashLimit(total / elapsed, sum(cpu for _, cpu in results) / max(total, 1) * 1000)
