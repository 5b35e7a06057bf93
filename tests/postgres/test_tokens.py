"""Token sessions on PostgreSQL: the conditional UPDATE decides concurrent refreshes there too."""

import asyncio

import httpx
import pytest

from tests.accounts.test_walkthrough import walk_through
from tests.bearer import bearer, create_account, token_login

pytestmark = pytest.mark.postgres


async def test_concurrent_refreshes_have_one_winner(client: httpx.AsyncClient) -> None:
    await create_account(client)
    pair = await token_login(client)
    responses = await asyncio.gather(
        *(client.post("/account/refresh", json={"refresh": pair["refresh"]}) for _ in range(8))
    )
    assert sorted(r.status_code for r in responses) == [200] + [401] * 7
    assert {r.json()["code"] for r in responses if r.status_code == 401} == {"token_reused"}


async def test_deleting_an_account_cascades(client: httpx.AsyncClient) -> None:
    user = await create_account(client)
    pair = await token_login(client)
    auth = bearer(pair["access"])
    assert (await client.put("/items/x?name=a&size=1", headers=auth)).status_code == 201
    response = await client.delete(f"/account/delete-account/{user['id']}", headers=auth)
    assert response.status_code == 204
    assert (await client.get("/items/x")).status_code == 404
    # Its session was ended by the deletion: revoked, not a token that never existed.
    response = await client.post("/account/refresh", json={"refresh": pair["refresh"]})
    assert response.json()["code"] == "token_revoked"


async def test_the_tutorial_walk_through(client: httpx.AsyncClient) -> None:
    await walk_through(client)


async def test_a_refresh_of_an_ended_session_spends_nothing(client: httpx.AsyncClient) -> None:
    """PostgreSQL rotates in one statement: a session that has ended is neither slid nor is
    its token spent (the refusal says revoked, not reused, however often it is tried)."""
    await create_account(client)
    pair = await token_login(client)
    auth = bearer(pair["access"])
    assert (await client.post("/account/logout-all", headers=auth)).status_code == 200
    for _ in range(2):
        response = await client.post("/account/refresh", json={"refresh": pair["refresh"]})
        assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
