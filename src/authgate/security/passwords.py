"""Password hashing: Argon2id for new hashes; bcrypt and Django pbkdf2_sha256 verified and upgraded.

Hashing is deliberately slow, so it never runs on the event loop: a small dedicated pool of
threads (Argon2 and bcrypt release the GIL) does it, at a lower CPU priority than the loop, so
that other requests stay responsive while log-ins saturate the CPUs.
"""

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from authgate.settings import Settings

BCRYPT_MAX_BYTES = 72
HASH_THREAD_NICENESS = 10
log = logging.getLogger("authgate.passwords")


class LegacyBcryptHasher(BcryptHasher):
    """bcrypt as passlib wrote it: passwords past 72 bytes were silently truncated."""

    def verify(self, password: str | bytes, hash: str | bytes) -> bool:
        raw = password.encode() if isinstance(password, str) else password
        return super().verify(raw[:BCRYPT_MAX_BYTES], hash)


class DjangoPbkdf2Hasher:
    """Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 digest>`, for imported users."""

    PREFIX = "pbkdf2_sha256$"

    @classmethod
    def identify(cls, hash: str | bytes) -> bool:
        text = hash.decode(errors="replace") if isinstance(hash, bytes) else hash
        return text.startswith(cls.PREFIX) and text.count("$") == 3

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        raise NotImplementedError("pbkdf2_sha256 is only verified, never written")

    def verify(self, password: str | bytes, hash: str | bytes) -> bool:
        text = hash.decode() if isinstance(hash, bytes) else hash
        _, iterations, salt, digest = text.split("$")
        if not iterations.isdigit() or not 1 <= int(iterations) <= 10_000_000:
            return False
        raw = password.encode() if isinstance(password, str) else password
        computed = hashlib.pbkdf2_hmac("sha256", raw, salt.encode(), int(iterations))
        return hmac.compare_digest(base64.b64encode(computed).decode(), digest)

    def check_needs_rehash(self, hash: str | bytes) -> bool:
        return True


def default_hash_threads(workers: int = 1) -> int:
    """One hashing thread per CPU this process may run on, shared by the `workers` processes
    of one `authgate serve`: more hashing threads than CPUs only take turns, and each turn
    evicts the other's Argon2 memory from the caches."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus // workers)


def _lower_priority() -> None:
    # Not Linux, or not allowed: the thread runs at normal priority.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_THREAD_NICENESS)


class PasswordHasher:
    """Hash and verify off the event loop, with a dummy verify for users that do not exist."""

    def __init__(self, settings: Settings) -> None:
        argon2 = Argon2Hasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost,
            parallelism=settings.argon2_parallelism,
        )
        self._hash = PasswordHash((argon2, LegacyBcryptHasher(), DjangoPbkdf2Hasher()))
        self.threads = settings.hash_threads or default_hash_threads()
        self._pool = ThreadPoolExecutor(self.threads, "authgate-hash", initializer=_lower_priority)
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await self._run(self._hash.hash, password)

    async def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """(matches, new hash to store or None). `hashed=None` burns the same time and fails.

        Verifying against a dummy hash when the user does not exist makes a wrong username cost
        the same as a wrong password, so response times do not reveal which usernames exist.
        """
        if hashed is None:
            await self._run(self._verify, password, await self._dummy_hash())
            return False, None
        return await self._run(self._verify, password, hashed)

    def _verify(self, password: str, hashed: str) -> tuple[bool, str | None]:
        try:
            return self._hash.verify_and_update(password, hashed)
        except (UnknownHashError, ValueError):
            # An unusable stored hash (e.g. an imported '!' placeholder) matches nothing.
            return False, None

    async def warm_up(self) -> None:
        """Make the dummy hash at start-up, so the first unknown user costs no extra hash."""
        await self._dummy_hash()
        log.info("password hashing threads: %d", self.threads)

    async def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = await self.hash(base64.b64encode(os.urandom(18)).decode())
        return self._dummy

    async def _run(self, fn, *args):  # type: ignore[no-untyped-def]
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
