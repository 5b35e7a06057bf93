"""The memory-mapped change feed of one host: order, keys, gaps, and several processes."""

import uuid

import pytest

from authgate.changes import (
    KEYS_CHANGED,
    ORIGINS_CHANGED,
    Subscription,
    session_ended,
    user_changed,
)
from authgate.hostfeed import RING, HostFeed


@pytest.fixture
def feed(tmp_path):
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


async def test_another_process_on_the_same_folder_hears_them(feed, tmp_path):
    other = HostFeed(tmp_path)
    try:
        listening = Subscription(other)
        assert listening.poll() == []
        await feed.publish([user_changed(7)])
        assert listening.poll() == [user_changed(7)]
        assert listening.poll() == []
    finally:
        other.close()


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
