"""JWT signing keys: the HMAC secret, or key pairs kept in the data folder and rotated.

Key pairs live in `<data_dir>/jwt_keys/<ALG>/<seq>-<random>.pem` (PKCS#8, mode 0600). The
file name is the key's `kid`, and the newest file signs. After `authgate keys rotate` the
previous keys keep verifying until every token they signed has expired; a later rotation
prunes them. The rotation is announced on the change feed, so every worker reloads the folder
before its next signature or verification, with no restart.
"""

import fcntl
import hashlib
import itertools
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from authgate.changes import ChangeFeed, Subscription, Topic
from authgate.settings import Settings

HMAC = "HS256"
KEYS_DIR = "jwt_keys"
GENERATORS: dict[str, Callable[[], Any]] = {
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
}
# Tokens travel for a while after they are issued: keep a retired key this much longer.
RETIRE_MARGIN = 60


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    signing: Any  # the HMAC secret, or a private key
    verifying: Any  # the HMAC secret, or the public key


class KeyRing:
    """The keys of the configured algorithm: `current()` signs, `get(kid)` verifies."""

    def __init__(self, settings: Settings, secret_key: str, feed: ChangeFeed | None) -> None:
        self.algorithm = settings.jwt_algorithm
        self._folder = key_folder(settings)
        self._changes = None if feed is None or self.algorithm == HMAC else Subscription(feed)
        self._keys: dict[str, SigningKey] = {}
        if self.algorithm == HMAC:
            kid = "hs-" + hashlib.sha256(b"authgate-kid:" + secret_key.encode()).hexdigest()[:16]
            self._current = SigningKey(kid, secret_key, secret_key)
            self._keys[kid] = self._current
        else:
            ensure_key(self._folder, self.algorithm)
            self._sync()

    def current(self) -> SigningKey:
        self._sync()
        return self._current

    def get(self, kid: object) -> SigningKey | None:
        self._sync()
        return self._keys.get(kid) if isinstance(kid, str) else None

    def single(self) -> SigningKey | None:
        """The one key, when there is only one: verifying then needs no kid look-up."""
        self._sync()
        return self._current if len(self._keys) == 1 else None

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public keys as a JWK Set; empty for HS256, whose secret is never published."""
        if self.algorithm == HMAC:
            return {"keys": []}
        self._sync()
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        published = []
        for key in reversed(self._keys.values()):
            jwk: dict[str, Any] = algorithm.to_jwk(key.verifying, as_dict=True)  # type: ignore[assignment]
            published.append({**jwk, "kid": key.kid, "use": "sig", "alg": self.algorithm})
        return {"keys": published}

    def _sync(self) -> None:
        # One memory read per call; the folder is read again only after a rotation.
        if self._keys:
            if self._changes is None:
                return
            changes = self._changes.poll()
            if changes is not None and not any(c.topic is Topic.KEYS for c in changes):
                return
        keys = {path.stem: _load(path) for path in _key_files(self._folder)}
        self._keys = {kid: SigningKey(kid, key, key.public_key()) for kid, key in keys.items()}
        self._current = self._keys[next(reversed(self._keys))]


def key_folder(settings: Settings) -> Path:
    return settings.data_dir / KEYS_DIR / settings.jwt_algorithm


def ensure_key(folder: Path, algorithm: str) -> None:
    """Create the first key pair unless one exists; safe when several workers start at once."""
    if _key_files(folder):
        return
    with _locked(folder):
        if not _key_files(folder):
            _write_new_key(folder, algorithm)


def rotate(folder: Path, algorithm: str, retire_after: int) -> tuple[str, list[str]]:
    """Add a new signing key; prune keys retired more than `retire_after` seconds ago.

    Returns the new kid and the pruned kids. Key i was retired when key i+1 was created, so
    once that is longer ago than an access token lives, nothing it signed still verifies.
    """
    with _locked(folder):
        kid = _write_new_key(folder, algorithm)
        files = _key_files(folder)
        now, pruned = time.time(), []
        for older, newer in itertools.pairwise(files):
            if now - newer.stat().st_mtime > retire_after + RETIRE_MARGIN:
                older.unlink()
                pruned.append(older.stem)
    return kid, pruned


def _key_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.pem"))


def _write_new_key(folder: Path, algorithm: str) -> str:
    files = _key_files(folder)
    sequence = int(files[-1].stem.split("-", 1)[0]) + 1 if files else 1
    kid = f"{sequence:06d}-{secrets.token_hex(4)}"
    pem = GENERATORS[algorithm]().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temporary = folder / f".{kid}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    # The rename is atomic: a worker reloading the folder sees the whole key or none of it.
    temporary.rename(folder / f"{kid}.pem")
    return kid


def _load(path: Path) -> Any:
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


class _locked:
    """An exclusive lock on the key folder, across processes (created 0700 when missing)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
