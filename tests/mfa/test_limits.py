"""Wrong second-factor codes count against the account's log-in limit, like wrong passwords."""

import pytest

from tests.bearer import bearer, create_account, token_login
from tests.helpers import PASSWORD
from tests.mfa.helpers import code_at, enrol


@pytest.fixture
def settings(make_settings):
    return make_settings(rate_limit_login="3/minute")


async def test_wrong_codes_use_up_the_username_budget(client, clock):
    await create_account(client)
    secret, _ = await enrol(client, bearer((await token_login(client))["access"]), clock)
    body = {"username": "alice", "password": PASSWORD}
    token = (await client.post("/account/login", json=body)).json()["mfa_token"]
    for _ in range(3):
        wrong = await client.post("/account/login/mfa", json={"mfa_token": token, "code": "000000"})
        assert wrong.status_code == 401
    right = {"mfa_token": token, "code": code_at(secret, clock)}
    response = await client.post("/account/login/mfa", json=right)
    assert (response.status_code, response.json()["code"]) == (429, "rate_limited")
    response = await client.post("/account/login", json=body)
    assert (response.status_code, response.json()["code"]) == (429, "rate_limited")
