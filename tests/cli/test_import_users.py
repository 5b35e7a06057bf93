"""`authgate import-users`: a Django `dumpdata auth.User` export, with real pbkdf2 hashes."""

import asyncio
import base64
import hashlib
import json
import secrets

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from authgate.accounts.models import User
from authgate.cli import cli
from tests.bearer import bearer
from tests.conftest import FAST_HASHING, TEST_SECRET
from tests.helpers import fetch

ITERATIONS = 100_000  # Django uses more; the format, not the count, is under test.


def django_pbkdf2(password: str, salt: str | None = None) -> str:
    """The hash Django's PBKDF2PasswordHasher writes, made with hashlib alone."""
    salt = salt or secrets.token_urlsafe(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${salt}${base64.b64encode(digest).decode()}"


def record(pk: int, username: str, password: str, **fields: object) -> dict:
    """A dumpdata record; a `password` starting with "!" or naming a hasher is kept as it is."""
    hashed = password if password.startswith("!") or "$" in password else django_pbkdf2(password)
    return {
        "model": "auth.user",
        "pk": pk,
        "fields": {
            "password": hashed, "last_login": None, "is_superuser": False,
            "username": username, "first_name": "", "last_name": "", "email": "",
            "is_staff": False, "is_active": True, "date_joined": "2024-03-01T09:30:00Z",
            "groups": [], "user_permissions": [], **fields,
        },
    }  # fmt: skip


def run_import(settings, path) -> tuple[int, str]:
    env = {
        "AUTHGATE_DATA_DIR": str(settings.data_dir),
        "AUTHGATE_SECRET_KEY": TEST_SECRET,
        **{f"AUTHGATE_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
    }
    result = CliRunner().invoke(cli, ["import-users", str(path)], env=env)
    return result.exit_code, result.output


async def count_users(app) -> int:
    return (await fetch(app, select(func.count()).select_from(User)))[0][0]


async def test_import_keeps_users_and_their_passwords(app, client, settings, tmp_path):
    export = [
        record(1, "myuser", "tutorial-pass-1", email="myuser@test.com", first_name="Doe",
               last_name="John", date_joined="2024-03-01T09:30:00.123Z"),
        record(2, "admin", "admin-pass-42", is_staff=True, is_superuser=True),
        record(3, "gone", "gone-pass-77", is_active=False),
    ]  # fmt: skip
    path = tmp_path / "users.json"
    path.write_text(json.dumps(export))
    code, output = await asyncio.to_thread(run_import, settings, path)
    assert code == 0, output
    assert "imported 3 users, skipped 0" in output
    response = await client.post(
        "/account/login", json={"username": "myuser", "password": "tutorial-pass-1"}
    )
    assert response.status_code == 200
    me = (await client.get("/account/me", headers=bearer(response.json()["access"]))).json()
    assert (me["email"], me["first_name"], me["last_name"]) == ("myuser@test.com", "Doe", "John")
    assert me["date_joined"].startswith("2024-03-01T09:30:00.123")
    assert me["is_admin"] is False
    [(stored,)] = await fetch(app, select(User.password_hash).where(User.username == "myuser"))
    assert stored.startswith("$argon2id$"), "the pbkdf2 hash was not upgraded at log-in"
    response = await client.post(
        "/account/login", json={"username": "admin", "password": "admin-pass-42"}
    )
    admin = (await client.get("/account/me", headers=bearer(response.json()["access"]))).json()
    assert admin["is_admin"] is True
    response = await client.post(
        "/account/login", json={"username": "gone", "password": "gone-pass-77"}
    )
    assert response.status_code == 401
    response = await client.post(
        "/account/login", json={"username": "myuser", "password": "wrong-pass-1"}
    )
    assert response.status_code == 401


async def test_rerunning_skips_existing_users_and_says_so(app, client, settings, tmp_path):
    path = tmp_path / "users.json"
    path.write_text(json.dumps([record(1, "alice", "alice-pass-1")]))
    assert (await asyncio.to_thread(run_import, settings, path))[0] == 0
    path.write_text(
        json.dumps([record(1, "ALICE", "other-pass-1"), record(2, "bob", "bob-pass-22")])
    )
    code, output = await asyncio.to_thread(run_import, settings, path)
    assert code == 0
    assert "skipped 'ALICE': a user with that name already exists" in output
    assert "imported 1 users, skipped 1" in output
    assert await count_users(app) == 2
    response = await client.post(
        "/account/login", json={"username": "alice", "password": "alice-pass-1"}
    )
    assert response.status_code == 200


async def test_taken_emails_and_foreign_hashes_are_reported(app, client, settings, tmp_path):
    export = [
        record(1, "carol", "carol-pass-1", email="shared@example.com"),
        record(2, "dave", "dave-pass-22", email="SHARED@example.com"),
        record(3, "erin", "!unusable"),
        record(4, "frank", "bcrypt_sha256$$2b$12$abcdefghijklmnopqrstuv"),
    ]
    path = tmp_path / "users.json"
    path.write_text(json.dumps(export))
    code, output = await asyncio.to_thread(run_import, settings, path)
    assert code == 0, output
    assert "imported 'dave' without an e-mail address" in output
    assert "'erin' with a password hash authgate cannot verify" in output
    assert "'frank' with a password hash authgate cannot verify" in output
    response = await client.post(
        "/account/login", json={"username": "dave", "password": "dave-pass-22"}
    )
    assert response.status_code == 200
    response = await client.post(
        "/account/login", json={"username": "erin", "password": "!unusable"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"model": "auth.user"}', "expected a JSON list"),
        (json.dumps([{"model": "auth.group", "pk": 1, "fields": {"name": "x"}}]), "not a user"),
        (json.dumps([{"model": "auth.user", "pk": 9}]), "record 2: fields"),
        (
            json.dumps([{"model": "auth.user", "fields": {"username": "has space"}}]),
            "record 2: fields.username",
        ),
        (
            json.dumps([{"model": "auth.user", "fields": {"username": "x", "email": "bad"}}]),
            "fields.email",
        ),
        (
            json.dumps([{"model": "auth.user", "fields": {"username": "x", "is_active": "maybe"}}]),
            "is_active",
        ),
    ],
)
async def test_a_malformed_file_imports_nothing(app, settings, tmp_path, content, reason):
    path = tmp_path / "users.json"
    good = [record(1, "first", "first-pass-1")]
    data = json.loads(content) if isinstance(content, str) else None
    path.write_bytes(json.dumps(good + data).encode() if data else content)
    code, output = await asyncio.to_thread(run_import, settings, path)
    assert code == 1
    assert "is not a Django user export" in output and "Nothing was imported" in output
    assert reason in output
    assert await count_users(app) == 0


async def test_a_missing_file(settings, tmp_path):
    code, output = await asyncio.to_thread(run_import, settings, tmp_path / "nope.json")
    assert code == 1 and "cannot read" in output


async def test_djangos_argon2_and_bcrypt_hashes_verify_too(client, settings, tmp_path):
    import argon2
    import bcrypt

    argon = "argon2" + argon2.PasswordHasher(time_cost=1, memory_cost=1024).hash("grace-pass-1")
    crypt = "bcrypt$" + bcrypt.hashpw(b"heidi-pass-1", bcrypt.gensalt(4)).decode()
    path = tmp_path / "users.json"
    path.write_text(json.dumps([record(1, "grace", argon), record(2, "heidi", crypt)]))
    code, output = await asyncio.to_thread(run_import, settings, path)
    assert code == 0 and "cannot verify" not in output, output
    for username in ("grace", "heidi"):
        credentials = {"username": username, "password": f"{username}-pass-1"}
        assert (await client.post("/account/login", json=credentials)).status_code == 200
