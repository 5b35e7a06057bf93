"""The session service functions and the per-process session cache, on a real database."""

import hashlib
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from authgate.accounts.models import User
from authgate.epochs import Epoch
from authgate.sessions import service
from authgate.sessions.models import LoginSession

LIFETIME = 3600


@pytest.fixture
async def users(app) -> list[User]:
    async with app.state.db.writer() as db:
        made = [
            User(username=name, username_key=name, password_hash="!") for name in ("alice", "bob")
        ]
        db.add_all(made)
        await db.commit()
    return made


async def open_one(app, user, clock, kind="cookie", **extra):
    values = {"now": clock.now, "lifetime": LIFETIME, "user_agent": "ua", "ip": "127.0.0.1"}
    values.update(extra)
    session_id, secret = await service.open_session(app.state.db, user.id, kind, **values)
    return await stored(app, session_id), secret


async def stored(app, session_id) -> LoginSession:
    async with app.state.db.reader() as db:
        return await db.get(LoginSession, session_id)


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
    assert row.user_agent == "x" * service.USER_AGENT_MAX


async def test_end_session_is_true_once_and_bumps_the_auth_epoch(app, users, clock):
    session, _ = await open_one(app, users[0], clock)
    before = app.state.epochs.read(Epoch.AUTH)
    async with app.state.db.writer() as db:
        assert await service.end_session(db, app.state.epochs, session.id, clock.now) is True
        assert await service.end_session(db, app.state.epochs, session.id, clock.now) is False
        assert await service.end_session(db, app.state.epochs, uuid.uuid4(), clock.now) is False
    assert app.state.epochs.read(Epoch.AUTH) > before
    assert (await stored(app, session.id)).ended_at == clock.now


async def test_end_user_sessions_keeps_one_and_spares_other_users(app, users, clock):
    alice, bob = users
    keep, _ = await open_one(app, alice, clock)
    ended = [(await open_one(app, alice, clock))[0] for _ in range(3)]
    bobs, _ = await open_one(app, bob, clock)
    before = app.state.epochs.read(Epoch.AUTH)
    async with app.state.db.writer() as db:
        count = await service.end_user_sessions(
            db, app.state.epochs, alice.id, clock.now, keep=keep.id
        )
    assert count == 3
    assert app.state.epochs.read(Epoch.AUTH) > before
    for session in ended:
        assert (await stored(app, session.id)).ended_at == clock.now
    assert (await stored(app, keep.id)).ended_at is None
    assert (await stored(app, bobs.id)).ended_at is None
    async with app.state.db.writer() as db:
        assert await service.end_user_sessions(db, app.state.epochs, alice.id, clock.now) == 1


async def test_live_sessions_leaves_out_ended_and_expired_newest_first(app, users, clock):
    alice = users[0]
    old, _ = await open_one(app, alice, clock)
    clock.advance(10)
    new, _ = await open_one(app, alice, clock)
    gone, _ = await open_one(app, alice, clock)
    brief, _ = await open_one(app, alice, clock, lifetime=60)
    await open_one(app, users[1], clock)
    async with app.state.db.writer() as db:
        await service.end_session(db, app.state.epochs, gone.id, clock.now)
    clock.advance(61)
    async with app.state.db.reader() as db:
        live = await service.live_sessions(db, alice.id, clock.now)
    assert [s.id for s in live] == [new.id, old.id]
    assert brief.id not in {s.id for s in live}


async def test_get_user_session_only_finds_the_users_own(app, users, clock):
    alice, bob = users
    session, _ = await open_one(app, alice, clock)
    async with app.state.db.reader() as db:
        assert (await service.get_user_session(db, alice.id, session.id)).id == session.id
        assert await service.get_user_session(db, bob.id, session.id) is None
        assert await service.get_user_session(db, alice.id, uuid.uuid4()) is None


async def test_extend_session_slides_the_expiry_but_never_revives(app, users, clock):
    session, _ = await open_one(app, users[0], clock)
    clock.advance(2000)
    async with app.state.db.writer() as db:
        expires = await service.extend_session(db, session.id, clock.now, LIFETIME)
    assert expires == clock.now + timedelta(seconds=LIFETIME)
    row = await stored(app, session.id)
    assert (row.expires_at, row.last_seen_at) == (expires, clock.now)
    async with app.state.db.writer() as db:
        await service.end_session(db, app.state.epochs, session.id, clock.now)
        clock.advance(10)
        await service.extend_session(db, session.id, clock.now, LIFETIME)
    assert (await stored(app, session.id)).expires_at == expires


async def test_the_store_caches_until_the_auth_epoch_moves(app, users, clock):
    store = app.state.sessions
    session, secret = await open_one(app, users[0], clock)
    first = await store.by_secret_hash(service.hash_secret(secret))
    assert first is not None and first.is_live(clock.now)
    assert await store.by_id(session.id) is first  # one state, reachable both ways
    async with app.state.db.writer() as db:
        # Written without bumping the epoch (as no caller may): the cache does not see it.
        row = await db.get(LoginSession, session.id)
        row.ended_at = clock.now
        await db.commit()
    assert (await store.by_id(session.id)).ended_at is None
    app.state.epochs.bump(Epoch.AUTH)
    assert (await store.by_id(session.id)).ended_at == clock.now
    assert not (await store.by_secret_hash(service.hash_secret(secret))).is_live(clock.now)


async def test_the_store_remembers_unknown_secrets_too(app, users, clock):
    store = app.state.sessions
    assert await store.by_secret_hash("0" * 64) is None
    assert await store.by_id(uuid.uuid4()) is None


async def test_a_users_state_travels_with_the_session(app, users, clock):
    session, _ = await open_one(app, users[0], clock)
    state = await app.state.sessions.by_id(session.id)
    assert state.user.username == "alice"
    assert state.user.is_active and not state.user.is_admin
    async with app.state.db.writer() as db:
        user = (await db.scalars(select(User).where(User.username == "alice"))).one()
        user.is_active = False
        await db.commit()
    app.state.epochs.bump(Epoch.AUTH)
    assert not (await app.state.sessions.by_id(session.id)).is_live(clock.now)
