"""Signing key pairs in the database: sealed with the secret key, created, imported, rotated.

Every instance of the service signs with the newest key of its algorithm and verifies with
all of them, so the keys live in the shared database rather than in one data folder. A
private key is stored as PKCS#8 PEM sealed with AES-256-GCM under a key derived (HKDF-SHA256)
from `AUTHGATE_SECRET_KEY`: a copy of the database alone signs nothing. The kid and the
algorithm are bound to the ciphertext as associated data, so a sealed key cannot be passed
off under another row.

The functions taking a `Connection` are units of work (or parts of one) for `Database`.
"""

import os
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from authgate.changes import KEYS_CHANGED, announce
from authgate.security.models import SigningKeyRow

KEY = SigningKeyRow.__table__
HKDF_INFO = b"authgate signing-key encryption v1"
NONCE_BYTES = 12
GENERATORS: dict[str, Callable[[], Any]] = {
    "EdDSA": ed25519.Ed25519PrivateKey.generate,
    "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
}
# Tokens travel for a while after they are issued: keep a retired key this much longer.
RETIRE_MARGIN = 60
LEGACY_FOLDER = "jwt_keys"  # where versions before the database kept their key pairs


class KeyDecryptionError(RuntimeError):
    """A stored key that the configured secret key cannot open."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    kid: str
    nonce: bytes
    sealed: bytes
    created_at: datetime
    retired_at: datetime | None


@dataclass(frozen=True, slots=True)
class LegacyKey:
    kid: str
    pem: bytes
    modified_at: datetime


class KeyCipher:
    """AES-256-GCM under a key derived from the service's secret key."""

    def __init__(self, secret_key: str, info: bytes = HKDF_INFO) -> None:
        # `info` separates the keys of different uses (signing keys, TOTP secrets...).
        derived = HKDF(hashes.SHA256(), length=32, salt=None, info=info)
        self._aead = AESGCM(derived.derive(secret_key.encode()))

    def seal(self, kid: str, algorithm: str, pem: bytes) -> tuple[bytes, bytes]:
        nonce = os.urandom(NONCE_BYTES)  # random: at most a handful of keys per secret
        return nonce, self._aead.encrypt(nonce, pem, _bound(kid, algorithm))

    def open(self, kid: str, algorithm: str, nonce: bytes, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(nonce, sealed, _bound(kid, algorithm))
        except InvalidTag:
            raise KeyDecryptionError(
                f"signing key {kid!r} in the database cannot be decrypted with "
                "AUTHGATE_SECRET_KEY: every instance must share the secret key that stored it"
            ) from None


def _bound(kid: str, algorithm: str) -> bytes:
    return f"{algorithm}\0{kid}".encode()


def new_pem(algorithm: str) -> bytes:
    return GENERATORS[algorithm]().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_pem(pem: bytes) -> Any:
    return serialization.load_pem_private_key(pem, password=None)


def list_keys(connection: Connection, algorithm: str) -> list[StoredKey]:
    """The keys of `algorithm`, oldest first: the last one signs."""
    rows = connection.execute(
        select(KEY.c.kid, KEY.c.nonce, KEY.c.private_key, KEY.c.created_at, KEY.c.retired_at)
        .where(KEY.c.algorithm == algorithm)
        .order_by(KEY.c.created_at, KEY.c.kid)
    )
    return [StoredKey(*row) for row in rows]


def ensure_keys(
    connection: Connection,
    algorithm: str,
    cipher: KeyCipher,
    legacy: Sequence[LegacyKey],
    now: datetime,
) -> list[StoredKey]:
    """The keys of `algorithm`, creating them first when there are none.

    Key pairs of an older version (`legacy`, from the data folder) are imported with their
    kids, so the tokens they signed keep verifying; otherwise one new key pair is made. Safe
    when several instances start at once: the first key's kid is the same for all of them,
    so all but one insert fail on the primary key and read the winner's key instead.
    """
    found = list_keys(connection, algorithm)
    if found:
        return found
    if legacy:
        rows = _legacy_rows(legacy, algorithm, cipher)
    else:
        rows = [_first_row(algorithm, cipher, now)]
    try:
        with connection.begin_nested():
            connection.execute(KEY.insert(), rows)
    except IntegrityError:
        return list_keys(connection, algorithm)
    announce(connection, KEYS_CHANGED)
    return list_keys(connection, algorithm)


def rotate(
    connection: Connection, algorithm: str, cipher: KeyCipher, retire_after: int, now: datetime
) -> tuple[str, list[str]]:
    """Sign with a new key from now on; prune keys retired over `retire_after` s (+ margin) ago.

    Returns the new kid and the pruned kids. A retired key verifies until every token it
    signed has expired, which is what `retire_after` (the access-token lifetime) says.
    """
    kid = f"{_next_sequence(connection, algorithm):06d}-{secrets.token_hex(4)}"
    connection.execute(
        update(KEY)
        .where(KEY.c.algorithm == algorithm, KEY.c.retired_at.is_(None))
        .values(retired_at=now)
    )
    connection.execute(KEY.insert().values(_row(kid, algorithm, cipher, new_pem(algorithm), now)))
    expired = KEY.c.retired_at < now - timedelta(seconds=retire_after + RETIRE_MARGIN)
    pruned = connection.execute(
        delete(KEY).where(KEY.c.algorithm == algorithm, expired).returning(KEY.c.kid)
    )
    announce(connection, KEYS_CHANGED)
    return kid, sorted(pruned.scalars())


def read_legacy(data_dir: Path, algorithm: str) -> list[LegacyKey]:
    """Key pairs an older version kept in `<data_dir>/jwt_keys/<ALG>/<kid>.pem`, oldest first."""
    folder = data_dir / LEGACY_FOLDER / algorithm
    if not folder.is_dir():
        return []
    return [
        LegacyKey(path.stem, path.read_bytes(), _modified_at(path))
        for path in sorted(folder.glob("*.pem"))
    ]


def _modified_at(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _legacy_rows(
    legacy: Sequence[LegacyKey], algorithm: str, cipher: KeyCipher
) -> list[dict[str, Any]]:
    # As before: the newest file signs, and each older one was retired by its successor.
    rows = []
    for index, key in enumerate(legacy):
        following = legacy[index + 1] if index + 1 < len(legacy) else None
        row = _row(key.kid, algorithm, cipher, key.pem, key.modified_at)
        row["retired_at"] = following.modified_at if following else None
        rows.append(row)
    return rows


def _first_row(algorithm: str, cipher: KeyCipher, now: datetime) -> dict[str, Any]:
    # The same kid in every instance that races to create the first key: one insert wins.
    return _row(f"000001-{algorithm.lower()}", algorithm, cipher, new_pem(algorithm), now)


def _row(kid: str, algorithm: str, cipher: KeyCipher, pem: bytes, now: datetime) -> dict[str, Any]:
    nonce, sealed = cipher.seal(kid, algorithm, pem)
    return {
        "kid": kid,
        "algorithm": algorithm,
        "nonce": nonce,
        "private_key": sealed,
        "created_at": now,
        "retired_at": None,
    }


def _next_sequence(connection: Connection, algorithm: str) -> int:
    kids = connection.scalars(select(KEY.c.kid).where(KEY.c.algorithm == algorithm))
    sequences = [int(kid.split("-", 1)[0]) for kid in kids if kid.split("-", 1)[0].isdigit()]
    return max(sequences, default=0) + 1
