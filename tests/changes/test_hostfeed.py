"""The memory-mapped change feed of one host: order, keys, gaps, several processes, and the
changes of a process killed between its commit and its publication."""

import signal
import subprocess
import sys
import time
import uuid

import pytest

from authgate.changes import (
    KEYS_CHANGED,
    ORIGINS_CHANGED,
    Subscription,
    session_ended,
    user_changed,
)
from authgate.hostfeed import GRACE, RING, HostFeed


@pytest.fixture
def feed(tmp_path):
    opened = HostFeed(tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def neighbour(feed, tmp_path):
    """The same folder opened again, as another process of the host opens it."""
    opened = HostFeed(tmp_path)
    yield opened
    opened.close()


async def test_changes_come_back_in_order_with_their_keys(feed):
    sid = uuid.uuid4()
    start = feed.position()
    await feed.publish([session_ended(sid), user_changed(42), ORIGINS_CHANGED, KEYS_CHANGED])
    position, changes = feed.read(start)
    assert position == start + 4
    assert changes == [session_ended(sid), user_changed(42), ORIGINS_CHANGED, KEYS_CHANGED]
    assert feed.read(position) == (position, [])


async def test_another_process_on_the_same_folder_hears_them(feed, neighbour):
    listening = Subscription(neighbour)
    assert listening.poll() == []
    await feed.publish([user_changed(7)])
    assert listening.poll() == [user_changed(7)]
    assert listening.poll() == []


async def test_a_reader_that_fell_a_ring_behind_is_told_it_missed_some(feed):
    listening = Subscription(feed)
    await feed.publish([user_changed(n) for n in range(RING + 1)])
    assert listening.poll() is None  # drop everything
    await feed.publish([user_changed(1)])
    assert listening.poll() == [user_changed(1)]  # and read on from there


async def test_exactly_a_ring_behind_is_still_whole(feed):
    listening = Subscription(feed)
    await feed.publish([user_changed(n) for n in range(RING)])
    assert listening.poll() == [user_changed(n) for n in range(RING)]


async def test_a_record_overwritten_while_read_is_a_gap(feed):
    start = feed.position()
    await feed.publish([user_changed(1)])
    # A writer lapped the reader between its look at the counter and at the record.
    await feed.publish([user_changed(n) for n in range(RING)])
    _, changes = feed.read(start)
    assert changes is None


async def test_negative_and_large_user_ids_survive(feed):
    start = feed.position()
    await feed.publish([user_changed(2**63 - 1), user_changed(-1)])
    assert feed.read(start)[1] == [user_changed(2**63 - 1), user_changed(-1)]


async def test_a_change_is_pending_from_before_its_commit_until_published(feed, neighbour):
    listening = Subscription(neighbour)
    sid = uuid.uuid4()
    number = feed.within(None, [session_ended(sid), user_changed(3)])  # type: ignore[arg-type]
    assert listening.poll() == []  # noted, not acted on: it may yet roll back
    await feed.publish([session_ended(sid), user_changed(3)], number)
    assert listening.poll() == [session_ended(sid), user_changed(3)]
    time.sleep(GRACE + 0.05)
    assert listening.poll() == []  # settled: no gap


async def test_a_pending_change_never_published_becomes_one_gap(feed, neighbour):
    listening = Subscription(neighbour)
    feed.within(None, [user_changed(5)])  # type: ignore[arg-type]
    assert listening.poll() == []  # within the grace: its commit may be on its way
    time.sleep(GRACE + 0.05)
    assert listening.poll() is None  # committed, maybe, and never told: drop everything
    assert listening.poll() == []  # once
    late = Subscription(feed)  # the writer's own readers hear the same gap
    assert late.poll() == []


async def test_a_process_started_after_a_pending_record_still_watches_it(feed, tmp_path):
    listening = Subscription(feed)
    feed.within(None, [user_changed(6)])  # type: ignore[arg-type]
    time.sleep(GRACE + 0.05)
    # A worker that started after the record (its writer may have died since) looks a ring
    # back: its first read is past the grace already, and writes the gap at once.
    other = HostFeed(tmp_path)
    try:
        start = other.position()
        assert other.read(start)[1] is None
        assert listening.poll() is None  # every reader hears it
        assert listening.poll() == []  # once
    finally:
        other.close()


async def test_a_gap_that_could_not_be_written_is_tried_again(feed, neighbour, monkeypatch):
    listening = Subscription(neighbour)
    feed.within(None, [user_changed(7)])  # type: ignore[arg-type]
    time.sleep(GRACE + 0.05)

    def full_disk(records):  # type: ignore[no-untyped-def]
        raise OSError("no space left on device")

    monkeypatch.setattr(neighbour, "_append", full_disk)
    with pytest.raises(OSError):
        listening.poll()
    monkeypatch.undo()
    assert listening.poll() is None  # not trusted meanwhile: the gap comes on the retry


async def test_setting_the_wall_clock_forward_makes_no_gap(feed, neighbour, monkeypatch):
    listening = Subscription(neighbour)
    number = feed.within(None, [user_changed(8)])  # type: ignore[arg-type]
    now = time.time_ns()
    monkeypatch.setattr(time, "time_ns", lambda: now + 3600 * 10**9)  # an hour ahead
    assert listening.poll() == []  # its commit may still be on its way
    await feed.publish([user_changed(8)], number)
    assert listening.poll() == [user_changed(8)]


def test_the_counter_never_reads_torn_while_another_process_writes(feed, tmp_path):
    """A reader takes no lock: it must never see the counter go back (or through zero) while
    another process appends."""
    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from authgate.changes import user_changed\n"
        "from authgate.hostfeed import DONE, HostFeed\n"
        "feed = HostFeed(Path(sys.argv[1]))\n"
        "end = time.monotonic() + 1.5\n"
        "while time.monotonic() < end:\n"
        "    feed._append([(DONE, user_changed(1), 0)])\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)])
    try:
        seen = last = feed.position()
        reads = 0
        while writer.poll() is None and reads < 50_000_000:
            now = feed.position()
            assert now >= last, f"the counter read {now} after {last}"
            last, reads = now, reads + 1
        assert writer.wait(timeout=60) == 0
        assert last > seen  # it did write meanwhile
    finally:
        writer.kill()


def test_a_process_killed_between_its_commit_and_its_publication(feed, tmp_path):
    """A real process writes its pending record, is killed, and the reader finds the gap."""
    listening = Subscription(feed)
    code = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from authgate.changes import user_changed\n"
        "from authgate.hostfeed import HostFeed\n"
        "HostFeed(Path(sys.argv[1])).within(None, [user_changed(9)])\n"
        "os.kill(os.getpid(), signal.SIGKILL)  # the commit done, the publication never\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], timeout=60)
    assert done.returncode == -signal.SIGKILL
    time.sleep(GRACE + 0.05)
    assert listening.poll() is None
