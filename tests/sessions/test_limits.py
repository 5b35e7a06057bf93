"""The token log-in routes share the log-in budget with /login; create-account shares sign-up's."""

import pytest

from tests.helpers import PASSWORD


@pytest.fixture
def settings(make_settings):
    return make_settings(rate_limit_login="3/minute", rate_limit_signup="2/minute")


async def test_the_three_login_routes_share_one_budget_per_username(client):
    await client.post("/account/create-account", json={"username": "alice", "password": PASSWORD})
    wrong = {"username": "alice", "password": "wrong-password"}
    assert (await client.post("/login", json=wrong)).status_code == 401
    assert (await client.post("/account/login", json=wrong)).status_code == 401
    assert (await client.post("/account/token", data=wrong)).status_code == 400
    for response in (
        await client.post("/account/login", json={"username": "ALICE", "password": PASSWORD}),
        await client.post("/account/token", data={"username": "alice", "password": PASSWORD}),
    ):
        assert (response.status_code, response.json()["code"]) == (429, "rate_limited")
        assert "retry-after" in response.headers


async def test_create_account_shares_the_signup_budget(client):
    await client.post("/signup", json={"username": "bob", "password": PASSWORD})
    body = {"username": "carol", "password": PASSWORD}
    assert (await client.post("/account/create-account", json=body)).status_code == 201
    body = {"username": "dave", "password": PASSWORD}
    response = await client.post("/account/create-account", json=body)
    assert (response.status_code, response.json()["code"]) == (429, "rate_limited")
