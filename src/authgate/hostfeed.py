"""The change feed of one host: a log in a memory-mapped file that every process reads.

`<data_dir>/changes` holds a counter of the changes ever published and a ring of the last
`RING` of them. Publishing appends under a file lock; reading compares the counter with the
reader's position (one memory load: free on every request) and, when it moved, reads the new
records. A reader that fell more than `RING` behind, or finds a record overwritten while it
read, is told that it missed some (`None`), and drops everything it cached.

Only processes that share the data folder see this feed: several hosts need another feed.
"""

import fcntl
import mmap
import os
import struct
import uuid
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection

from authgate.changes import Change, Topic

FILE = "changes"
RING = 8192
HEADER = struct.Struct("<Q")  # changes published so far
RECORD = struct.Struct("<QB7x16s")  # tag (its index + 1), topic, key
SIZE = HEADER.size + RING * RECORD.size


class HostFeed:
    """A `ChangeFeed` for the processes of one host, through `<data_dir>/changes`."""

    healthy = True  # the file is always there: nothing can be missed but by falling behind

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(data_dir / FILE, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < SIZE:
            with _Locked(self._fd):
                if os.fstat(self._fd).st_size < SIZE:
                    os.ftruncate(self._fd, SIZE)
        self._map = mmap.mmap(self._fd, SIZE)

    def position(self) -> int:
        return HEADER.unpack_from(self._map, 0)[0]

    def read(self, position: int) -> tuple[int, list[Change] | None]:
        count = HEADER.unpack_from(self._map, 0)[0]
        if count == position:
            return position, []
        if not 0 <= count - position <= RING:
            return count, None
        changes = []
        for index in range(position, count):
            tag, topic, key = RECORD.unpack_from(self._map, _offset(index))
            if tag != index + 1:  # overwritten by a writer that lapped us while we read
                return count, None
            changes.append(_decode(topic, key))
        return count, changes

    def within(self, connection: Connection, changes: Sequence[Change]) -> None:
        """Nothing to do before the commit: `publish` writes the log after it."""

    async def start(self) -> None:
        """Nothing to start: the file is read on demand."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def publish(self, changes: Sequence[Change], number: int | None = None) -> None:
        if not changes:
            return
        with _Locked(self._fd):
            count = HEADER.unpack_from(self._map, 0)[0]
            for change in changes:
                RECORD.pack_into(
                    self._map, _offset(count), count + 1, change.topic, _encode(change)
                )
                count += 1
            HEADER.pack_into(self._map, 0, count)  # last: readers see whole records only

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


def _offset(index: int) -> int:
    return HEADER.size + (index % RING) * RECORD.size


def _encode(change: Change) -> bytes:
    if isinstance(change.key, uuid.UUID):
        return change.key.bytes
    if isinstance(change.key, int):
        return change.key.to_bytes(16, "little", signed=True)
    return bytes(16)


def _decode(topic: int, key: bytes) -> Change:
    kind = Topic(topic)
    if kind is Topic.SESSION:
        return Change(kind, uuid.UUID(bytes=key))
    if kind is Topic.USER:
        return Change(kind, int.from_bytes(key, "little", signed=True))
    return Change(kind)


class _Locked:
    def __init__(self, fd: int) -> None:
        self._fd = fd

    def __enter__(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
