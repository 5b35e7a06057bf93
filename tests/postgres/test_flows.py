"""The main flows on PostgreSQL: the models, constraints and conditional writes are portable."""

import asyncio

import httpx
import pytest

from tests.helpers import PASSWORD, csrf_headers, execute, signup

pytestmark = pytest.mark.postgres


async def test_signup_login_logout(client: httpx.AsyncClient, new_client) -> None:
    user = await signup(client, "Alice", email="Alice@Example.com")
    assert user["username"] == "Alice"
    assert user["date_joined"].endswith("Z") or "+00:00" in user["date_joined"]
    other = new_client()
    response = await other.post("/login", data={"username": "ａｌｉｃｅ", "password": PASSWORD})
    assert response.status_code == 200
    response = await client.post("/logout", headers=csrf_headers(client))
    assert response.status_code == 200
    response = await client.put("/items/x?name=a&size=1")
    assert response.status_code == 401


async def test_concurrent_signups_of_one_name(client: httpx.AsyncClient, new_client) -> None:
    clients = [new_client() for _ in range(8)]
    responses = await asyncio.gather(
        *(c.post("/signup", json={"username": "bob", "password": PASSWORD}) for c in clients)
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1
    assert all(r.json()["code"] == "username_taken" for r in responses if r.status_code == 400)
    assert statuses.count(400) == 7


async def test_email_unique_ignoring_case(client: httpx.AsyncClient, new_client) -> None:
    await signup(client, "carol", email="carol@example.com")
    response = await new_client().post(
        "/signup", json={"username": "dave", "password": PASSWORD, "email": "CAROL@example.com"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "email_taken"


async def test_both_taken_answer_username_taken(client: httpx.AsyncClient, new_client) -> None:
    """PostgreSQL aborts the unit at the refused INSERT; which name is taken is read after it."""
    await signup(client, "heidi", email="heidi@example.com")
    body = {"username": "HEIDI", "password": PASSWORD, "email": "Heidi@example.com"}
    response = await new_client().post("/signup", json=body)
    assert (response.status_code, response.json()["code"]) == (400, "username_taken")


async def test_concurrent_conditional_writes_lose_nothing(
    client: httpx.AsyncClient,
) -> None:
    await signup(client, "erin")
    created = await client.put("/items/box?name=Box&size=1", headers=csrf_headers(client))
    assert created.status_code == 201
    tag = created.headers["etag"]
    responses = await asyncio.gather(
        *(
            client.put(
                f"/items/box?name=Box&size={n}",
                headers={**csrf_headers(client), "If-Match": tag},
            )
            for n in range(2, 8)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] + [412] * 5
    final = await client.get("/items/box")
    winner = next(r for r in responses if r.status_code == 200)
    assert final.json()["size"] == winner.json()["item"]["size"]
    assert final.headers["etag"] == winner.headers["etag"]


async def test_user_ids_are_not_reused(app, client: httpx.AsyncClient, new_client) -> None:
    from sqlalchemy import delete

    from authgate.accounts.models import User

    first = await signup(client, "frank")
    assert await execute(app, delete(User).where(User.id == first["id"])) == 1
    second = await signup(new_client(), "frank")
    assert second["id"] > first["id"]


async def test_nul_and_odd_names_are_client_errors_on_postgres(client: httpx.AsyncClient) -> None:
    await signup(client, "grace")
    response = await client.post("/login", json={"username": "gr\u0000ace", "password": PASSWORD})
    assert response.status_code == 401
    response = await client.post("/signup", json={"username": "\ufdfa", "password": PASSWORD})
    assert response.status_code == 422
    response = await client.put(
        "/items/nul", json={"name": "a\u0000b", "size": 1}, headers=csrf_headers(client)
    )
    assert response.status_code == 422
