"""Change counters shared by every server process on this host, readable in nanoseconds.

A counter lives in a small memory-mapped file in the data folder. A writer that changes
authentication state (a session ends, a user is deactivated...) or the CORS origins bumps
its counter after committing; every process compares the counter with the value it last
saw before trusting its in-memory caches. Reading is a memory load, so checking it on every
request costs nothing measurable, and a change is visible to the very next request of every
worker, with no polling and no database query.
"""

import fcntl
import mmap
import os
import struct
from enum import IntEnum
from pathlib import Path

SLOT = struct.Struct("<Q")


class Epoch(IntEnum):
    AUTH = 0  # sessions and users: drop cached session states
    CORS = 1  # run-time CORS origins: reload the registry
    KEYS = 2  # JWT signing keys: `authgate keys rotate` made a new one, reload the key folder


class Epochs:
    """A memory-mapped array of counters in `<data_dir>/epochs`."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(data_dir / "epochs", os.O_RDWR | os.O_CREAT, 0o600)
        size = SLOT.size * len(Epoch)
        if os.fstat(self._fd).st_size < size:
            with self._locked():
                if os.fstat(self._fd).st_size < size:
                    os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size)

    def read(self, epoch: Epoch) -> int:
        return SLOT.unpack_from(self._map, epoch * SLOT.size)[0]

    def bump(self, epoch: Epoch) -> int:
        with self._locked():
            value = self.read(epoch) + 1
            SLOT.pack_into(self._map, epoch * SLOT.size, value)
        return value

    def _locked(self) -> "_FileLock":
        return _FileLock(self._fd)

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


class _FileLock:
    def __init__(self, fd: int) -> None:
        self._fd = fd

    def __enter__(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
