"""Password hashing through /signup and /login: Argon2id, legacy hashes and their upgrade."""

import base64
import hashlib
import os
import threading

import bcrypt
import pytest
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import insert, select

from authgate.accounts.models import User
from authgate.accounts.policy import username_key
from authgate.security.passwords import PasswordHasher, default_hash_threads
from authgate.settings import Settings
from tests.apps import running_app
from tests.helpers import PASSWORD, execute, fetch, signup

CURRENT = "$argon2id$v=19$m=1024,t=1,p=1$"  # the suite's cheap parameters (conftest)
LONG = "long-passphrase-" * 6  # 96 bytes: past bcrypt's 72


def bcrypt_hash(password: str, prefix: str, rounds: int = 4) -> str:
    """As passlib and the bcrypt package wrote it (passlib cut passwords at 72 bytes)."""
    raw = password.encode()[:72]
    made = bcrypt.hashpw(raw, bcrypt.gensalt(rounds, b"2a" if prefix == "2a" else b"2b")).decode()
    return "$2y$" + made[4:] if prefix == "2y" else made


def django_hash(password: str, salt: str = "Qh2ZpU9Xk1bR", iterations: int = 260_000) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


LEGACY = {
    "bcrypt-2b-12": lambda pw: bcrypt_hash(pw, "2b", rounds=12),
    "bcrypt-2a": lambda pw: bcrypt_hash(pw, "2a"),
    "bcrypt-2y": lambda pw: bcrypt_hash(pw, "2y"),
    "django-pbkdf2_sha256": django_hash,
    "argon2id-old-parameters": lambda pw: Argon2Hasher(
        time_cost=3, memory_cost=2048, parallelism=2
    ).hash(pw),
}


async def add_user(app, username: str, password_hash: str, **extra) -> None:
    """A user imported with a hash from elsewhere, written straight to the database."""
    await execute(
        app,
        insert(User).values(
            username=username,
            username_key=username_key(username),
            password_hash=password_hash,
            **extra,
        ),
    )


async def stored_hash(app, username: str) -> str:
    [(stored,)] = await fetch(app, select(User.password_hash).where(User.username == username))
    return stored


async def login(client, username: str, password: str):
    return await client.post("/login", json={"username": username, "password": password})


@pytest.fixture
def spy(app, monkeypatch) -> list[tuple[str, str, str]]:
    """Records (operation, hash or '', thread name) of every hash and verify the app makes."""
    calls: list[tuple[str, str, str]] = []
    inner = app.state.hasher._hash
    real_hash, real_verify = inner.hash, inner.verify_and_update

    def hash_(password, **kwargs):
        calls.append(("hash", "", threading.current_thread().name))
        return real_hash(password, **kwargs)

    def verify(password, hashed):
        calls.append(("verify", hashed, threading.current_thread().name))
        return real_verify(password, hashed)

    monkeypatch.setattr(inner, "hash", hash_)
    monkeypatch.setattr(inner, "verify_and_update", verify)
    return calls


async def test_new_hashes_are_argon2id_with_the_suites_parameters(app, client):
    await signup(client, "alice")
    assert (await stored_hash(app, "alice")).startswith(CURRENT)


async def test_new_hashes_use_the_configured_parameters(make_settings):
    settings = make_settings(
        argon2_time_cost=2, argon2_memory_cost=2048, argon2_parallelism=2, rate_limit_enabled=False
    )
    async with running_app(settings) as (app, client):
        await signup(client, "alice")
        assert (await stored_hash(app, "alice")).startswith("$argon2id$v=19$m=2048,t=2,p=2$")


@pytest.mark.parametrize("kind", sorted(LEGACY))
async def test_a_legacy_hash_verifies_and_becomes_argon2id_at_log_in(app, client, kind):
    legacy = LEGACY[kind](PASSWORD)
    await add_user(app, "imported", legacy)
    # A wrong password changes nothing.
    wrong = await login(client, "imported", PASSWORD + "x")
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_credentials"
    assert await stored_hash(app, "imported") == legacy
    # The right one logs in and upgrades the stored hash.
    response = await login(client, "IMPORTED", PASSWORD)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["username"] == "imported"
    upgraded = await stored_hash(app, "imported")
    assert upgraded.startswith(CURRENT)
    assert (await login(client, "imported", PASSWORD)).status_code == 200
    assert await stored_hash(app, "imported") == upgraded  # already current: left alone


async def test_a_long_password_against_a_legacy_bcrypt_hash_never_fails_with_a_500(app, client):
    await add_user(app, "alice", bcrypt_hash(LONG, "2b"))
    await add_user(app, "bob", bcrypt_hash("short-but-fine", "2b"))
    assert (await login(client, "bob", "가" * 1000)).status_code == 401  # 3000 bytes
    assert (await login(client, "alice", "x" + LONG)).status_code == 401
    # passlib cut at 72 bytes, so the whole passphrase matches the stored prefix...
    assert (await login(client, "alice", LONG)).status_code == 200
    # ...and once upgraded, Argon2 judges all of it: the 72-byte prefix alone no longer works.
    assert (await stored_hash(app, "alice")).startswith(CURRENT)
    assert (await login(client, "alice", LONG.encode()[:72].decode())).status_code == 401
    assert (await login(client, "alice", LONG)).status_code == 200


@pytest.mark.parametrize(
    "unusable",
    [
        "!",
        "",
        "$2b$12$short",
        "$2y$04$" + "x" * 53,
        "pbkdf2_sha256$abc$salt$digest",
        "pbkdf2_sha256$0$salt$digest",
        "pbkdf2_sha256$99999999999$salt$digest",
        "pbkdf2_sha256$1000$salt$!!!",
        "$argon2id$v=19$m=1,t=1,p=1$garbage",
        "md5$abc$def",
    ],
)
async def test_an_unusable_stored_hash_matches_nothing(app, client, unusable):
    await add_user(app, "imported", unusable)
    response = await login(client, "imported", PASSWORD)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert await stored_hash(app, "imported") == unusable


async def test_an_unknown_user_still_costs_a_verify_against_a_dummy_hash(app, client, spy):
    for _ in range(2):
        response = await login(client, "nobody", PASSWORD)
        assert response.status_code == 401
    verifies = [call for call in spy if call[0] == "verify"]
    assert len(verifies) == 2
    dummy = verifies[0][1]
    assert dummy.startswith(CURRENT)  # as costly as a real user's hash
    assert verifies[1][1] == dummy  # made once, then reused
    assert all(thread.startswith("authgate-hash") for _, _, thread in spy)


async def test_a_deactivated_user_costs_a_verify_too(app, client, spy):
    legacy = bcrypt_hash(PASSWORD, "2a")
    await add_user(app, "gone", legacy, is_active=False)
    spy.clear()
    response = await login(client, "gone", PASSWORD)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert [call[0] for call in spy] == ["verify"]
    assert await stored_hash(app, "gone") == legacy  # a refused log-in upgrades nothing


async def test_hashing_and_verifying_run_off_the_event_loop(client, spy):
    await signup(client, "alice")
    await login(client, "alice", PASSWORD)
    assert [call[0] for call in spy] == ["hash", "verify"]
    loop_thread = threading.current_thread().name
    assert all(thread != loop_thread and thread.startswith("authgate-hash") for *_, thread in spy)


def test_one_hashing_thread_per_usable_cpu_unless_set(tmp_path):
    cpus = len(os.sched_getaffinity(0))
    hasher = PasswordHasher(Settings(data_dir=tmp_path, hash_threads=None))
    try:
        assert hasher.threads == cpus == default_hash_threads()
    finally:
        hasher.close()
    hasher = PasswordHasher(Settings(data_dir=tmp_path, hash_threads=3))
    try:
        assert hasher.threads == 3
    finally:
        hasher.close()
    # Shared by the workers of one server, never below one each.
    assert default_hash_threads(2) == max(1, cpus // 2)
    assert default_hash_threads(cpus + 1) == 1
