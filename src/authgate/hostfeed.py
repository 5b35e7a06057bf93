"""The change feed of one host: a log in a memory-mapped file that every process reads.

`<data_dir>/changes-2` holds a counter of the records ever written and a ring of the last
`RING` of them. Writing appends under a file lock; reading compares the counter with the
reader's position (one memory load: free on every request) and, when it moved, reads the new
records. A reader that fell more than `RING` behind, or finds a record overwritten while it
read, is told that it missed some (`None`), and drops everything it cached.

A unit's changes are written twice. Inside the unit, before its commit (`within`), as pending
records, which readers do not act on but note; after the commit (`publish`), as done records,
each naming its pending one: these are the changes that readers act on. A process killed
between its commit and `publish` leaves pending records that nothing settles: the first process
to read one `GRACE` seconds after it was written writes a gap for it, and every reader drops
everything once. (A unit that rolls back after `within` costs the same false gap, never a
stale answer.) Times are `CLOCK_MONOTONIC`'s, one clock for every process of a host that never
steps when the wall clock is set; a process that starts watches the pending records of the
last ring too.

Processes read while others write, with no lock: the counter and each record's tag are
single aligned 8-byte words, written and read whole (`struct.pack_into` would zero a field and
then write it byte by byte, and a reader could see any mix). A writer zeroes a record's tag,
writes its fields, then writes the tag; a reader takes a record only if its tag reads the same
before and after its fields.

Only processes that share the data folder see this feed: several hosts need another feed.
"""

import fcntl
import mmap
import os
import struct
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Connection

from authgate.changes import GRACE, Change, Topic

FILE = "changes-2"  # "changes" held records of another layout
RING = 8192
WORD = 8  # the counter of records written so far, then the ring
# tag (the record's index + 1), kind, topic, and: the writing time in ns (pending), the
# tag of the pending record it settles (done, gap); then the key.
RECORD = struct.Struct("<QBB6xQ16s")
PENDING, DONE, GAP = 1, 2, 3
SIZE = WORD + RING * RECORD.size
GRACE_NS = int(GRACE * 1e9)


class HostFeed:
    """A `ChangeFeed` for the processes of one host, through `<data_dir>/changes-2`."""

    healthy = True  # the file is always there: a lost change shows up as a gap (see above)

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(data_dir / FILE, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < SIZE:
            with _Locked(self._fd):
                if os.fstat(self._fd).st_size < SIZE:
                    os.ftruncate(self._fd, SIZE)
        self._map = mmap.mmap(self._fd, SIZE)
        # Word 0 is the counter; a record's tag is the first word of its slot (RECORD.size is
        # a multiple of WORD, so every slot starts on a word).
        self._words = memoryview(self._map).cast("Q")
        # The file lock keeps other processes out; this one, this process's other thread
        # (`within` runs on the database's writer thread): a flock is the open file's, not a
        # thread's.
        self._appending = threading.Lock()
        # This process's audit of pending records: read up to here, and those not settled yet
        # (their tag and when they were written). It starts a ring back: a record written
        # just before this process started may be one whose writer died.
        self._audited = max(0, self.position() - RING)
        self._unsettled: dict[int, int] = {}

    def position(self) -> int:
        return self._words[0]

    def read(self, position: int) -> tuple[int, list[Change] | None]:
        count = self._words[0]
        if count != self._audited or self._unsettled:
            count = self._audit(count)
        if count == position:
            return position, []
        if not 0 <= count - position <= RING:
            return count, None
        changes = []
        for index in range(position, count):
            record = self._record(index)
            if record is None or record[0] == GAP:  # lapped by a writer while read, or a gap
                return count, None
            kind, topic, _, key = record
            if kind == DONE:
                changes.append(_decode(topic, key))
        return count, changes

    def within(self, connection: Connection, changes: Sequence[Change]) -> int:
        """Write `changes` as pending; the tag of the first, which `publish` settles."""
        written = time.monotonic_ns()
        return self._append([(PENDING, change, written) for change in changes])

    async def start(self) -> None:
        """Nothing to start: the file is read on demand."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def publish(self, changes: Sequence[Change], number: int | None = None) -> None:
        if changes:
            self._append(
                [
                    (DONE, change, 0 if number is None else number + i)
                    for i, change in enumerate(changes)
                ]
            )

    def close(self) -> None:
        self._words.release()
        self._map.close()
        os.close(self._fd)

    def _record(self, index: int) -> tuple[int, int, int, bytes] | None:
        """Record `index`'s kind, topic, extra and key; None when its slot holds another
        record, or was rewritten while read."""
        tag = _offset(index) // WORD
        if self._words[tag] != index + 1:
            return None
        _, kind, topic, extra, key = RECORD.unpack_from(self._map, _offset(index))
        if self._words[tag] != index + 1:
            return None
        return kind, topic, extra, key

    def _append(self, records: list[tuple[int, Change | None, int]]) -> int:
        with self._appending, _Locked(self._fd):
            first = count = self._words[0]
            for kind, change, extra in records:
                topic, key = (0, bytes(16)) if change is None else (change.topic, _encode(change))
                tag = _offset(count) // WORD
                self._words[tag] = 0  # first: a reader of the old record sees it go
                RECORD.pack_into(self._map, _offset(count), 0, kind, topic, extra, key)
                self._words[tag] = count + 1
                count += 1
            self._words[0] = count  # last: readers see whole records only
        return first + 1

    def _audit(self, count: int) -> int:
        """Note the pending records written since the last audit and settle those published;
        write a gap when one waited `GRACE` unsettled. The counter, which a gap moves."""
        self._scan(count)
        if self._unsettled:
            overdue = time.monotonic_ns() - GRACE_NS
            late = [tag for tag, written in self._unsettled.items() if written <= overdue]
            if late:
                # Still unsettled until the gap is written: if writing fails, the next read
                # tries again rather than trusting the caches.
                self._append([(GAP, None, tag) for tag in late])
                count = self._words[0]
                self._scan(count)  # what others wrote meanwhile, the gap included
        return count

    def _scan(self, count: int) -> None:
        # Lapped (more than a ring behind, or overwritten while read): the readers get a gap;
        # what is still unsettled stays so, and makes one more gap once overdue.
        if 0 <= count - self._audited <= RING:
            for index in range(self._audited, count):
                record = self._record(index)
                if record is None:
                    break
                kind, _, extra, _ = record
                if kind == PENDING:
                    self._unsettled[index + 1] = extra
                else:  # done, or a gap that another process wrote for it
                    self._unsettled.pop(extra, None)
        self._audited = count


def _offset(index: int) -> int:
    return WORD + (index % RING) * RECORD.size


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
