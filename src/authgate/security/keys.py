"""The HMAC secret: from settings, or generated once and kept in the data folder (mode 0600)."""

import os
import secrets
from pathlib import Path

from authgate.settings import Settings

SECRET_FILE = "secret_key"


def load_secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    return _read_or_create(settings.data_dir / SECRET_FILE, lambda: secrets.token_urlsafe(48))


def _read_or_create(path: Path, make) -> str:  # type: ignore[no-untyped-def]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of several workers starting at once, exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_complete(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(make())
    return path.read_text().strip()


def _read_complete(path: Path) -> str:
    for _ in range(100):
        value = path.read_text().strip()
        if value:
            return value
        os.sched_yield()
    raise RuntimeError(f"{path} is empty: delete it to generate a new key")
