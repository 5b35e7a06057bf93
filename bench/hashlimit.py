"""The hash-bound limit: how many Argon2 hashes per second this machine does, in-process.

Every log-in verifies one Argon2 hash and every sign-up computes one; nothing a server does
can beat this rate with the same parameters, so log-in and sign-up are judged against it.
"""

import time
from concurrent.futures import ThreadPoolExecutor

from pwdlib.hashers.argon2 import Argon2Hasher

PASSWORD = "hash-limit-probe-password"


def hashes_per_second(params: dict[str, int], threads: int, seconds: float) -> float:
    """Hashes per second with `threads` threads hashing in a loop (argon2 releases the GIL)."""
    hasher = Argon2Hasher(**params)
    hasher.hash(PASSWORD)  # warm up: allocations, first-call costs
    deadline = time.perf_counter() + seconds

    def loop() -> int:
        done = 0
        while time.perf_counter() < deadline:
            hasher.hash(PASSWORD)
            done += 1
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: loop(), range(threads)))
    return total / (time.perf_counter() - started)
