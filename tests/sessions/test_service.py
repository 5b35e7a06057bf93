"""The session service functions and the per-process session cache, on a real database."""

import asyncio
import hashlib
import signal
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from authgate.accounts.models import User
from authgate.accounts.service import SNAPSHOT
from authgate.accounts.snapshot import AuthUser
from authgate.changes import Topic, session_ended, user_changed
from authgate.sessions import service
from authgate.sessions.models import LoginSession
from authgate.sessions.opening import USER_AGENT_MAX, SessionOpening
from tests.helpers import execute, fetch

LIFETIME = 3600


@pytest.fixture
async def users(app) -> list[AuthUser]:
    made = []
    for name in ("alice", "bob"):
        row = {"username": name, "username_key": name, "password_hash": "!"}
        made += await execute(app, insert(User).values(**row).returning(*SNAPSHOT))
    return [AuthUser.of(row) for row in made]


def announced(app, since):  # type: ignore[no-untyped-def]
    """The changes published on the app's feed since position `since`."""
    _, changes = app.state.feed.read(since)
    return changes


async def write(app, work):  # type: ignore[no-untyped-def]
    return await app.state.db.write(work)


async def open_one(app, user, clock, kind="cookie", **extra):
    values = {"now": clock.now, "lifetime": LIFETIME, "user_agent": "ua", "ip": "127.0.0.1"}
    values.update(extra)
    opened = SessionOpening(user.id, kind, **values)
    await app.state.db.write(opened.insert)
    return await stored(app, opened.id), opened.secret


async def stored(app, session_id):  # type: ignore[no-untyped-def]
    table = LoginSession.__table__
    rows = await fetch(app, select(table).where(table.c.id == session_id))
    return rows[0] if rows else None


def test_hash_secret_is_sha256_hex():
    assert service.hash_secret("abc") == hashlib.sha256(b"abc").hexdigest()


async def test_open_session_stores_the_hash_never_the_secret(app, users, clock):
    session, secret = await open_one(app, users[0], clock)
    assert len(secret) >= 43  # 32 random bytes
    row = await stored(app, session.id)
    assert row.secret_hash == service.hash_secret(secret)
    assert secret not in (row.secret_hash, row.user_agent, row.ip)
    assert row.kind == "cookie"
    assert row.created_at == row.last_seen_at == clock.now
    assert row.expires_at == clock.now + timedelta(seconds=LIFETIME)
    assert row.ended_at is None
    assert row.created_at.tzinfo is not None


async def test_every_session_gets_its_own_secret(app, users, clock):
    secrets = {(await open_one(app, users[0], clock))[1] for _ in range(5)}
    assert len(secrets) == 5


async def test_token_sessions_have_no_secret_hash_and_long_agents_are_cut(app, users, clock):
    session, _ = await open_one(app, users[0], clock, kind="token", user_agent="x" * 2000)
    row = await stored(app, session.id)
    assert row.secret_hash is None
    assert row.user_agent == "x" * USER_AGENT_MAX


async def test_end_sessions_ends_live_ones_once_and_announces_each(app, users, clock):
    session, _ = await open_one(app, users[0], clock)
    before = app.state.feed.position()
    now = clock.now
    assert await write(app, lambda c: service.end_sessions(c, [session.id], now)) == 1
    assert await write(app, lambda c: service.end_sessions(c, [session.id], now)) == 0
    assert await write(app, lambda c: service.end_sessions(c, [uuid.uuid4()], now)) == 0
    changes = announced(app, before)
    assert changes[0].topic is Topic.SESSION and changes[0].key == session.id
    assert (await stored(app, session.id)).ended_at == clock.now


async def test_a_unit_that_rolls_back_announces_nothing(app, users, clock):
    session, _ = await open_one(app, users[0], clock)
    before = app.state.feed.position()

    def fails(connection):  # type: ignore[no-untyped-def]
        service.end_sessions(connection, [session.id], clock.now)
        raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        await write(app, fails)
    assert announced(app, before) == []
    assert (await stored(app, session.id)).ended_at is None


async def test_end_user_sessions_keeps_one_and_spares_other_users(app, users, clock):
    alice, bob = users
    keep, _ = await open_one(app, alice, clock)
    ended = [(await open_one(app, alice, clock))[0] for _ in range(3)]
    bobs, _ = await open_one(app, bob, clock)
    before, now = app.state.feed.position(), clock.now
    count = await write(app, lambda c: service.end_user_sessions(c, alice.id, now, keep=keep.id))
    assert count == 3
    assert [(c.topic, c.key) for c in announced(app, before)] == [(Topic.USER, alice.id)]
    for session in ended:
        assert (await stored(app, session.id)).ended_at == clock.now
    assert (await stored(app, keep.id)).ended_at is None
    assert (await stored(app, bobs.id)).ended_at is None
    assert await write(app, lambda c: service.end_user_sessions(c, alice.id, now)) == 1


async def test_live_sessions_leaves_out_ended_and_expired_newest_first(app, users, clock):
    alice = users[0]
    old, _ = await open_one(app, alice, clock)
    clock.advance(10)
    new, _ = await open_one(app, alice, clock)
    gone, _ = await open_one(app, alice, clock)
    brief, _ = await open_one(app, alice, clock, lifetime=60)
    await open_one(app, users[1], clock)
    await write(app, lambda c: service.end_sessions(c, [gone.id], clock.now))
    clock.advance(61)
    now = clock.now
    live = await app.state.db.read(lambda c: service.live_sessions(c, alice.id, now))
    assert [s.id for s in live] == [new.id, old.id]
    assert brief.id not in {s.id for s in live}


async def test_end_own_session_only_ends_the_users_own(app, users, clock):
    alice, bob = users
    session, _ = await open_one(app, alice, clock)
    now = clock.now
    assert not await write(app, lambda c: service.end_own_session(c, bob.id, session.id, now))
    assert not await write(app, lambda c: service.end_own_session(c, alice.id, uuid.uuid4(), now))
    assert (await stored(app, session.id)).ended_at is None
    assert await write(app, lambda c: service.end_own_session(c, alice.id, session.id, now))
    assert (await stored(app, session.id)).ended_at == now


async def test_extend_session_slides_the_expiry_but_never_revives(app, users, clock):
    session, _ = await open_one(app, users[0], clock)
    clock.advance(2000)
    now = clock.now
    expires = await write(app, lambda c: service.extend_session(c, session.id, now, LIFETIME))
    assert expires == clock.now + timedelta(seconds=LIFETIME)
    row = await stored(app, session.id)
    assert (row.expires_at, row.last_seen_at) == (expires, clock.now)
    await write(app, lambda c: service.end_sessions(c, [session.id], now))
    later = now + timedelta(seconds=10)
    await write(app, lambda c: service.extend_session(c, session.id, later, LIFETIME))
    assert (await stored(app, session.id)).expires_at == expires


async def test_the_store_caches_until_the_feed_names_the_session(app, users, clock):
    store = app.state.sessions
    session, secret = await open_one(app, users[0], clock)
    other, _ = await open_one(app, users[0], clock)
    first = await store.by_secret_hash(service.hash_secret(secret))
    assert first is not None and first.is_live(clock.now)
    assert await store.by_id(session.id) is first  # one state, reachable both ways
    kept = await store.by_id(other.id)
    table = LoginSession.__table__
    # Written without announcing (as no caller may): the cache does not see it.
    await execute(app, update(table).where(table.c.id == session.id).values(ended_at=clock.now))
    assert (await store.by_id(session.id)).ended_at is None
    await app.state.feed.publish([session_ended(session.id)])
    assert (await store.by_id(session.id)).ended_at == clock.now
    assert not (await store.by_secret_hash(service.hash_secret(secret))).is_live(clock.now)
    # Only the named session was dropped: the other one is still the cached state.
    assert await store.by_id(other.id) is kept


async def test_a_user_change_drops_that_users_sessions_only(app, users, clock):
    store = app.state.sessions
    alices = [(await open_one(app, users[0], clock))[0] for _ in range(2)]
    bobs, _ = await open_one(app, users[1], clock)
    cached = [await store.by_id(s.id) for s in (*alices, bobs)]
    await app.state.feed.publish([user_changed(users[0].id)])
    assert all([await store.by_id(s.id) is not c for s, c in zip(alices, cached, strict=False)])
    assert await store.by_id(bobs.id) is cached[2]


async def test_a_gap_in_the_feed_drops_everything(app, users, clock):
    from authgate.hostfeed import RING

    store = app.state.sessions
    session, _ = await open_one(app, users[0], clock)
    cached = await store.by_id(session.id)
    # More changes than the ring holds, none naming this session: the store cannot know
    # what it missed, so it forgets everything.
    await app.state.feed.publish([session_ended(uuid.uuid4()) for _ in range(RING + 1)])
    assert await store.by_id(session.id) is not cached


# Another process of the host ends a session: it writes its pending record, waits until told
# to go on, commits, and is killed before it can publish.
KILLED_BEFORE_PUBLISHING = """
import asyncio, os, signal, sys, uuid
from datetime import datetime, timezone
from pathlib import Path
from authgate.db import Database
from authgate.hostfeed import HostFeed
from authgate.sessions.service import end_sessions

async def main():
    feed = HostFeed(Path(sys.argv[1]))
    within = feed.within

    def pending_then_wait(connection, changes):
        number = within(connection, changes)
        print("pending", flush=True)
        sys.stdin.readline()
        return number

    async def killed(changes, number=None):
        os.kill(os.getpid(), signal.SIGKILL)

    feed.within, feed.publish = pending_then_wait, killed
    db = Database(sys.argv[2], feed)
    now = datetime.now(timezone.utc)
    await db.write(lambda connection: end_sessions(connection, [uuid.UUID(sys.argv[3])], now))

asyncio.run(main())
"""


async def test_a_log_out_whose_process_died_before_publishing_reaches_the_cache(
    app, settings, users, clock
):
    """The store holds the session live; the other process ends it and dies before publishing;
    the store drops it once the grace is over (before pending records, it answered "live" for
    good)."""
    from authgate.hostfeed import GRACE

    store = app.state.sessions
    session, _ = await open_one(app, users[0], clock)
    await store.by_id(session.id)
    argv = [str(settings.data_dir), settings.effective_database_url, str(session.id)]
    other = subprocess.Popen(
        [sys.executable, "-c", KILLED_BEFORE_PUBLISHING, *argv],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert other.stdout is not None and other.stdin is not None
        assert other.stdout.readline() == "pending\n"
        loaded = await store.by_id(session.id)
        assert loaded is not None and loaded.ended_at is None  # not committed yet
        assert await store.by_id(session.id) is loaded  # cached
        other.stdin.write("go\n")
        other.stdin.flush()
        assert other.wait(timeout=60) == -signal.SIGKILL
    finally:
        other.kill()
    assert (await stored(app, session.id)).ended_at is not None  # committed, never published
    await asyncio.sleep(GRACE + 0.05)
    assert (await store.by_id(session.id)).ended_at is not None


async def test_a_load_overtaken_by_a_change_is_not_cached(app, users, clock):
    store = app.state.sessions
    session, _ = await open_one(app, users[0], clock)
    db, feed = app.state.db, app.state.feed
    table = LoginSession.__table__
    original = db.read

    async def read_then_end(work):  # type: ignore[no-untyped-def]
        """The load reads the live session; the session ends before the load is cached."""
        result = await original(work)
        await execute(app, update(table).where(table.c.id == session.id).values(ended_at=clock.now))
        await feed.publish([session_ended(session.id)])
        return result

    db.read = read_then_end
    try:
        assert (await store.by_id(session.id)).ended_at is None  # what the load read
    finally:
        db.read = original
    assert (await store.by_id(session.id)).ended_at == clock.now  # not the stale state


async def test_the_store_remembers_unknown_secrets_too(app, users, clock):
    store = app.state.sessions
    assert await store.by_secret_hash("0" * 64) is None
    assert await store.by_id(uuid.uuid4()) is None


async def test_a_users_state_travels_with_the_session(app, users, clock):
    session, _ = await open_one(app, users[0], clock)
    state = await app.state.sessions.by_id(session.id)
    assert state.user.username == "alice"
    assert state.user.is_active and not state.user.is_admin
    await execute(app, update(User).where(User.username == "alice").values(is_active=False))
    await app.state.feed.publish([user_changed(users[0].id)])
    assert not (await app.state.sessions.by_id(session.id)).is_live(clock.now)
