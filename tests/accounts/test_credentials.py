"""Passwords are checked exactly as typed, and a new installation has no account at all."""

from sqlalchemy import func, select

from authgate.accounts.models import User
from tests.bearer import create_account
from tests.helpers import fetch

LONG = "correct horse battery staple " * 4  # 116 characters: past bcrypt's 72 bytes


async def test_passwords_are_checked_exactly_as_typed(client):
    """ASVS 6.2.8: no truncation, no case folding, no trimming."""
    await create_account(client, password=LONG)
    for typed in (LONG.upper(), LONG[:72], LONG.strip(), LONG[:-1] + "!"):
        body = {"username": "alice", "password": typed}
        response = await client.post("/account/login", json=body)
        assert (response.status_code, response.json()["code"]) == (401, "invalid_credentials")
    body = {"username": "alice", "password": LONG}
    assert (await client.post("/account/login", json=body)).status_code == 200


async def test_a_new_database_has_no_accounts(app, client):
    """ASVS 6.3.2: no default account; the first administrator is made with a chosen name and
    password (`authgate create-admin`)."""
    (count,) = await fetch(app, select(func.count()).select_from(User))
    assert count == (0,)
    for name in ("admin", "root", "sa", "administrator"):
        for password in ("admin", "password", "changeme", name):
            body = {"username": name, "password": password}
            response = await client.post("/account/login", json=body)
            assert response.status_code == 401
