"""JWT signing keys in memory: the HMAC secret, or the key pairs kept in the database.

Tokens are signed and verified on the request path, synchronously, so the ring answers from
memory only. `start()` loads the key pairs (creating or importing them on a first start) and
a small task keeps them fresh: it reloads them when the change feed says the keys changed or
that it may have missed a change, and once a second while the feed is not healthy. A token
naming a kid the ring does not know also asks for a reload (at most one a second), in case a
rotation's notice has not arrived yet. While the database is unreachable the last keys hold.
"""

import asyncio
import contextlib
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import jwt

from authgate.changes import Subscription, Topic
from authgate.db import Database, utcnow
from authgate.errors import ServiceUnavailable
from authgate.security import keystore
from authgate.settings import Settings

HMAC = "HS256"
POLL_INTERVAL = 0.5  # seconds; the contract gives every instance 2 s to sign with a new key
MIN_RELOAD_INTERVAL = 1.0  # seconds between reloads nobody announced (feed gap, unknown kid)
RETRY_AFTER_FAILURE = 5.0
STOP_TIMEOUT = 5.0
log = logging.getLogger("authgate.keys")


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    signing: Any  # the HMAC secret, or a private key
    verifying: Any  # the HMAC secret, or the public key


class KeyRing:
    """The keys of the configured algorithm: `current()` signs, `get(kid)` verifies."""

    def __init__(
        self, settings: Settings, secret_key: str, db: Database, *, interval: float = POLL_INTERVAL
    ) -> None:
        self.algorithm = settings.jwt_algorithm
        self.is_hmac = self.algorithm == HMAC
        self._data_dir = settings.data_dir
        self._db = db
        self._cipher = keystore.KeyCipher(secret_key)
        self._interval = interval
        self._keys: dict[str, SigningKey] = {}
        self._current: SigningKey | None = None
        if self.is_hmac:
            kid = "hs-" + hashlib.sha256(b"authgate-kid:" + secret_key.encode()).hexdigest()[:16]
            self._current = SigningKey(kid, secret_key, secret_key)
            self._keys[kid] = self._current
        self._changes = None if self.is_hmac else Subscription(db.feed)
        self._stale = True
        self._last_load = 0.0
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def current(self) -> SigningKey:
        if self._current is None:  # not loaded yet: the database was unreachable at start
            raise ServiceUnavailable()
        return self._current

    def get(self, kid: object) -> SigningKey | None:
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None and not self.is_hmac:
            self._reload_soon()
        return key

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public keys as a JWK Set; empty for HS256, whose secret is never published."""
        if self.is_hmac:
            return {"keys": []}
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        published = []
        for key in reversed(self._keys.values()):
            jwk: dict[str, Any] = algorithm.to_jwk(key.verifying, as_dict=True)  # type: ignore[assignment]
            published.append({**jwk, "kid": key.kid, "use": "sig", "alg": self.algorithm})
        return {"keys": published}

    async def load(self) -> None:
        """Load the key pairs (creating the first, or importing an older version's, if none)."""
        if self.is_hmac:
            return
        async with self._lock:
            self._poll()
            stored = await self._db.read(lambda c: keystore.list_keys(c, self.algorithm))
            if not stored:
                legacy = keystore.read_legacy(self._data_dir, self.algorithm)
                cipher, algorithm = self._cipher, self.algorithm
                stored = await self._db.write(
                    lambda c: keystore.ensure_keys(c, algorithm, cipher, legacy, utcnow())
                )
            self._install(stored)

    async def refresh(self) -> bool:
        """Reload the keys if the feed says they changed (or cannot say); True if reloaded."""
        self._poll()
        if self._changes is not None and not self._changes.healthy:
            self._stale = self._stale or time.monotonic() - self._last_load >= MIN_RELOAD_INTERVAL
        if not self._stale:
            return False
        await self.load()
        return True

    async def start(self) -> None:
        """Load the keys and keep them fresh until `stop` (nothing to do for HS256)."""
        if self.is_hmac:
            return
        try:
            await self.load()
            delay = self._interval
        except ServiceUnavailable:
            log.warning("could not load the signing keys: the database is unreachable")
            delay = RETRY_AFTER_FAILURE
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._watch(delay), name="authgate-signing-keys")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._stopping.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(self._task, STOP_TIMEOUT)
        self._task = None

    def _poll(self) -> None:
        # Read the feed before the keys: a change committed during the read is seen next time.
        if self._changes is None:
            return
        changes = self._changes.poll()
        if changes is None or any(change.topic is Topic.KEYS for change in changes):
            self._stale = True

    def _install(self, stored: list[keystore.StoredKey]) -> None:
        keys = {}
        for row in stored:
            key = self._keys.get(row.kid)  # opened before: no need to decrypt it again
            if key is None:
                pem = self._cipher.open(row.kid, self.algorithm, row.nonce, row.sealed)
                private = keystore.load_pem(pem)
                key = SigningKey(row.kid, private, private.public_key())
            keys[row.kid] = key
        self._keys = keys
        self._current = keys[stored[-1].kid]
        self._stale = False
        self._last_load = time.monotonic()

    def _reload_soon(self) -> None:
        """Ask the watcher for a reload (a token named a kid unknown here); rate-limited."""
        if time.monotonic() - self._last_load >= MIN_RELOAD_INTERVAL:
            self._stale = True

    async def _watch(self, delay: float) -> None:
        while not await self._stopped_within(delay):
            try:
                await self.refresh()
                delay = self._interval
            except Exception as exc:  # the database may be down: keep the last keys
                log.warning("could not reload the signing keys: %s", type(exc).__name__)
                delay = RETRY_AFTER_FAILURE

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return self._stopping.is_set()
