"""Step-up with a passkey: options bound to the session's user, one answer per challenge."""

import jwt
import pytest

from tests.bearer import bearer, create_account, token_login
from tests.helpers import csrf_headers, signup
from tests.passkeys.authenticator import SoftAuthenticator, b64url
from tests.passkeys.helpers import ORIGIN, RP_ID, passkey_settings, register

STALE = 301


@pytest.fixture
def settings(make_settings):
    return passkey_settings(make_settings)


def claims(access: str) -> dict:
    return jwt.decode(access, options={"verify_signature": False})


async def options(client, headers):
    response = await client.post("/account/reauthenticate/options", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def reauth(client, headers, credential):
    return await client.post(
        "/account/reauthenticate", json={"passkey": credential}, headers=headers
    )


async def test_a_passkey_renews_a_stale_session(client, clock):
    await create_account(client)
    pair = await token_login(client)
    headers = bearer(pair["access"])
    authenticator = SoftAuthenticator(ORIGIN)
    await register(client, headers, authenticator)
    clock.advance(STALE)
    change = {"email": "alice@example.com"}
    stale = await client.patch("/account/me", json=change, headers=headers)
    assert stale.json()["code"] == "reauthentication_required"
    offered = await options(client, headers)
    assert [c["id"] for c in offered["allowCredentials"]] == [
        b64url(next(iter(authenticator.keys)))
    ]
    assert offered["rpId"] == RP_ID
    done = await reauth(client, headers, authenticator.get(offered, RP_ID))
    assert done.status_code == 200, done.text
    body = done.json()
    assert claims(body["access"])["auth_time"] == int(clock.now.timestamp())
    assert claims(body["access"])["amr"] == ["pwd", "hwk", "user", "mfa"]
    assert (await client.patch("/account/me", json=change, headers=headers)).status_code == 401
    fresh = bearer(body["access"])
    assert (await client.patch("/account/me", json=change, headers=fresh)).status_code == 200


async def test_each_challenge_answers_once_and_only_for_its_user(client):
    await create_account(client)
    alice = bearer((await token_login(client))["access"])
    mine = SoftAuthenticator(ORIGIN)
    await register(client, alice, mine)
    await create_account(client, "bob")
    bob = bearer((await token_login(client, "bob"))["access"])
    theirs = SoftAuthenticator(ORIGIN)
    await register(client, bob, theirs)

    answer = mine.get(await options(client, alice), RP_ID)
    # Bob's session cannot spend Alice's answer, nor Alice's challenge with Bob's passkey.
    refused = await reauth(client, bob, answer)
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_credentials")
    assert (
        await reauth(client, alice, theirs.get(await options(client, alice), RP_ID))
    ).status_code == 400
    done = await reauth(client, alice, answer)
    assert done.status_code == 200
    alice = bearer(done.json()["access"])
    assert (await reauth(client, alice, answer)).status_code == 400  # spent


async def test_log_in_and_step_up_challenges_do_not_mix(client):
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    authenticator = SoftAuthenticator(ORIGIN)
    await register(client, headers, authenticator)
    login_options = (await client.post("/account/passkeys/login/options")).json()
    assert (
        await reauth(client, headers, authenticator.get(login_options, RP_ID))
    ).status_code == 400
    answer = authenticator.get(await options(client, headers), RP_ID)
    logged_in = await client.post("/account/passkeys/login", json={"credential": answer})
    assert logged_in.status_code == 401


async def test_a_cloned_authenticator_is_refused(client):
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    authenticator = SoftAuthenticator(ORIGIN)
    await register(client, headers, authenticator)
    done = await reauth(client, headers, authenticator.get(await options(client, headers), RP_ID))
    headers = bearer(done.json()["access"])
    authenticator.counter -= 1
    clone = authenticator.get(await options(client, headers), RP_ID)
    assert (await reauth(client, headers, clone)).status_code == 400


async def test_without_a_passkey_there_are_no_options(client):
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    response = await client.post("/account/reauthenticate/options", headers=headers)
    assert (response.status_code, response.json()["code"]) == (400, "passkey_invalid")
    assert (await client.post("/account/reauthenticate/options")).status_code == 401
    garbage = await reauth(client, headers, {"response": {"clientDataJSON": "!!"}})
    assert (garbage.status_code, garbage.json()["code"]) == (400, "invalid_credentials")


async def test_a_cookie_session_steps_up_with_a_passkey(client):
    await signup(client)
    authenticator = SoftAuthenticator(ORIGIN)
    await register(client, csrf_headers(client), authenticator)
    old_cookie = client.cookies["sessionid"]
    offered = await options(client, csrf_headers(client))
    done = await reauth(client, csrf_headers(client), authenticator.get(offered, RP_ID))
    assert set(done.json()) == {"auth_time"}
    assert client.cookies["sessionid"] != old_cookie
    assert (await client.get("/account/me")).status_code == 200
