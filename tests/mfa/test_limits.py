"""Wrong second-factor codes count against the account's log-in limit, like wrong passwords."""

import pytest

from tests.audit.helpers import stored
from tests.bearer import bearer, create_account, serving, token_login
from tests.helpers import PASSWORD
from tests.mfa.helpers import code_at, enrol
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.helpers import ORIGIN, RP_ID, passkey_login, register


@pytest.fixture
def settings(make_settings):
    return make_settings(rate_limit_login="3/minute")


async def test_wrong_codes_use_up_the_username_budget(app, client, clock):
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
    (limited, _) = await stored(app, type="rate_limited")
    assert limited.detail == {"limit": "login", "step": "mfa", "username": "alice"}


async def test_a_step_up_past_the_limit_is_recorded(app, client):
    user = await create_account(client)
    headers = bearer((await token_login(client))["access"])
    for _ in range(3):
        wrong = {"password": "wrong-password"}
        assert (
            await client.post("/account/reauthenticate", json=wrong, headers=headers)
        ).status_code == 400
    right = {"password": PASSWORD}
    response = await client.post("/account/reauthenticate", json=right, headers=headers)
    assert response.status_code == 429
    (limited,) = await stored(app, type="rate_limited")
    assert (limited.user_id, limited.detail) == (
        user["id"], {"limit": "login", "step": "reauthenticate"},
    )  # fmt: skip


async def test_passkey_log_ins_past_the_limit_are_recorded(make_settings, clock):
    limited = make_settings(
        rate_limit_login="3/minute", webauthn_rp_id=RP_ID, webauthn_origins=ORIGIN
    )
    async with serving(limited, clock) as (app, client):
        await create_account(client)
        authenticator = SoftAuthenticator(ORIGIN)
        await register(client, bearer((await token_login(client))["access"]), authenticator)
        phishing = SoftAuthenticator("https://evil.example.net", keys=authenticator.keys)
        for _ in range(3):
            assert (await passkey_login(client, phishing)).status_code == 401
        response = await passkey_login(client, authenticator)
        assert (response.status_code, response.json()["code"]) == (429, "rate_limited")
        (event,) = await stored(app, type="rate_limited")
        assert event.detail == {"limit": "login", "step": "passkey", "username": "alice"}
