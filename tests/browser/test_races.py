"""Concurrent sign-ups: the database's unique constraints decide, and nobody gets a 5xx."""

import asyncio
from collections import Counter

from sqlalchemy import func, select

from authgate.accounts.models import User
from tests.helpers import PASSWORD, REFUSED, fetch, quiet_client, refuse_sessions

RACERS = 10


async def race(new_client, bodies: list[dict]) -> list:
    clients = [new_client() for _ in bodies]
    return await asyncio.gather(
        *(c.post("/signup", json=body) for c, body in zip(clients, bodies, strict=True))
    )


async def count_users(app) -> int:
    return (await fetch(app, select(func.count()).select_from(User)))[0][0]


async def test_concurrent_signups_of_one_name_one_wins(app, new_client):
    names = ["racer", "Racer", "RACER", "ｒａｃｅｒ", "ＲＡＣＥＲ"] * 2
    responses = await race(new_client, [{"username": n, "password": PASSWORD} for n in names])
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 400: RACERS - 1}, [r.text for r in responses]
    for response in responses:
        if response.status_code == 400:
            assert response.json()["code"] == "username_taken"
    assert await count_users(app) == 1


async def test_concurrent_signups_with_one_email_one_wins(app, new_client):
    bodies = [
        {
            "username": f"racer{i}",
            "password": PASSWORD,
            "email": f"Race@Example.{'com' if i % 2 else 'COM'}",
        }
        for i in range(RACERS)
    ]
    responses = await race(new_client, bodies)
    assert Counter(r.status_code for r in responses) == {201: 1, 400: RACERS - 1}
    assert {r.json()["code"] for r in responses if r.status_code == 400} == {"email_taken"}
    assert await count_users(app) == 1


async def test_a_name_and_an_address_both_taken_answer_username_taken(app, new_client):
    """No read comes before the hash: the refused INSERT names one constraint (PostgreSQL names
    the address's; tests/postgres/test_flows.py), and the answer still names the username."""
    body = {"username": "taken", "password": PASSWORD, "email": "taken@example.com"}
    assert (await new_client().post("/signup", json=body)).status_code == 201
    again = await new_client().post("/signup", json={**body, "username": "TAKEN"})
    assert (again.status_code, again.json()["code"]) == (400, "username_taken")
    other = await new_client().post("/signup", json={**body, "username": "fresh"})
    assert (other.status_code, other.json()["code"]) == (400, "email_taken")
    assert await count_users(app) == 1


async def test_a_signup_whose_session_cannot_be_stored_leaves_no_account(app):
    """The account and its first session are one unit of work: both, or neither."""
    await refuse_sessions(app)
    async with quiet_client(app) as client:
        body = {"username": "atomic", "password": PASSWORD}
        failed = await client.post("/signup", json=body, headers=REFUSED)
        assert failed.status_code == 500 and "set-cookie" not in failed.headers
        assert await count_users(app) == 0
        assert (await client.post("/signup", json=body)).status_code == 201
    assert await count_users(app) == 1
