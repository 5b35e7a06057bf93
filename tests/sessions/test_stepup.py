"""Step-up: sensitive changes need a recent authentication of the current session."""

import jwt
import pytest

from authgate import Settings
from tests.bearer import bearer, create_account, token_login
from tests.helpers import (
    PASSWORD,
    REFUSED,
    csrf_headers,
    quiet_client,
    refuse_sessions,
    signup,
)
from tests.mfa.helpers import code_at, enrol

STALE = 301


@pytest.fixture
def settings(make_settings):
    # Access tokens outlive the re-auth window here: the step-up is what refuses.
    return make_settings(rate_limit_enabled=False, access_token_lifetime=3600)


def claims(access: str) -> dict:
    return jwt.decode(access, options={"verify_signature": False})


def test_the_default_window_is_five_minutes(tmp_path):
    assert Settings(data_dir=tmp_path).reauth_window == 300


async def reauth(client, headers, **proof):
    return await client.post("/account/reauthenticate", json=proof, headers=headers)


async def test_changing_the_email_needs_a_recent_authentication(client, clock):
    await create_account(client)
    pair = await token_login(client)
    headers = bearer(pair["access"])
    clock.advance(STALE)
    response = await client.patch("/account/me", json={"email": "a@example.com"}, headers=headers)
    assert (response.status_code, response.json()["code"]) == (401, "reauthentication_required")
    names = await client.patch("/account/me", json={"first_name": "Alice"}, headers=headers)
    assert names.status_code == 200  # names are not sensitive
    wrong = await reauth(client, headers, password="wrong-password")
    assert (wrong.status_code, wrong.json()["code"]) == (400, "invalid_credentials")
    done = await reauth(client, headers, password=PASSWORD)
    assert done.status_code == 200
    body = done.json()
    assert set(body) == {"auth_time", "access", "refresh", "token_type", "expires_in"}
    assert claims(body["access"])["auth_time"] == int(clock.now.timestamp())
    # A new session (new id, new secrets): the old one's tokens are worth nothing now.
    assert claims(body["access"])["sid"] != claims(pair["access"])["sid"]
    response = await client.patch("/account/me", json={"email": "a@example.com"}, headers=headers)
    assert response.json()["code"] == "token_revoked"
    old_refresh = await client.post("/account/refresh", json={"refresh": pair["refresh"]})
    assert old_refresh.json()["code"] == "token_revoked"
    fresh = bearer(body["access"])
    response = await client.patch("/account/me", json={"email": "a@example.com"}, headers=fresh)
    assert response.status_code == 200


async def test_deleting_the_account_needs_a_recent_authentication(client, clock):
    user = await create_account(client)
    headers = bearer((await token_login(client))["access"])
    clock.advance(STALE)
    path = f"/account/delete-account/{user['id']}"
    response = await client.delete(path, headers=headers)
    assert response.json()["code"] == "reauthentication_required"
    done = await reauth(client, headers, password=PASSWORD)
    assert (await client.delete(path, headers=bearer(done.json()["access"]))).status_code == 204


async def test_second_factor_changes_need_it_and_a_code_renews_it(client, clock):
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    secret, _ = await enrol(client, headers, clock)
    clock.advance(STALE)
    for response in (
        await client.delete("/account/mfa/totp", headers=headers),
        await client.post("/account/mfa/recovery-codes", headers=headers),
    ):
        assert (response.status_code, response.json()["code"]) == (401, "reauthentication_required")
    assert (await reauth(client, headers, code="000000")).status_code == 400
    code = code_at(secret, clock)
    done = await reauth(client, headers, code=code)
    assert done.status_code == 200
    headers = bearer(done.json()["access"])
    assert (await reauth(client, headers, code=code)).status_code == 400  # a code works once
    assert (await client.post("/account/mfa/recovery-codes", headers=headers)).status_code == 200
    assert (await client.delete("/account/mfa/totp", headers=headers)).status_code == 204


async def test_setting_up_totp_needs_it_too(client, clock):
    """Someone holding a stale session must not put their own authenticator on the account."""
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    started = (await client.post("/account/mfa/totp", headers=headers)).json()
    clock.advance(STALE)
    for response in (
        await client.post("/account/mfa/totp", headers=headers),
        await client.post(
            "/account/mfa/totp/confirm",
            json={"code": code_at(started["secret"], clock)},
            headers=headers,
        ),
    ):
        assert (response.status_code, response.json()["code"]) == (401, "reauthentication_required")


async def test_a_recovery_code_renews_it_once(client, clock):
    """For a user whose authenticator app is not at hand: a recovery code, spent."""
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    _, recovery = await enrol(client, headers, clock)
    clock.advance(STALE)
    done = await reauth(client, headers, recovery_code=recovery[0].lower())
    assert done.status_code == 200, done.text
    assert claims(done.json()["access"])["amr"] == ["pwd", "mfa"]
    headers = bearer(done.json()["access"])
    again = await reauth(client, headers, recovery_code=recovery[0])
    assert (again.status_code, again.json()["code"]) == (400, "invalid_credentials")
    assert (await client.delete("/account/mfa/totp", headers=headers)).status_code == 204


async def test_a_step_up_adds_its_method_to_the_sessions_amr(client, clock):
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    secret, _ = await enrol(client, headers, clock)
    done = await reauth(client, headers, code=code_at(secret, clock))
    assert claims(done.json()["access"])["amr"] == ["pwd", "otp", "mfa"]
    # A password later keeps what the session had proven: a step-up never lowers it.
    done = await reauth(client, bearer(done.json()["access"]), password=PASSWORD)
    assert claims(done.json()["access"])["amr"] == ["pwd", "otp", "mfa"]


async def test_cookie_sessions_reauthenticate_too(client, clock):
    await signup(client)
    old_cookie = client.cookies["sessionid"]
    clock.advance(STALE)
    change = {"email": "a@example.com"}
    response = await client.patch("/account/me", json=change, headers=csrf_headers(client))
    assert response.json()["code"] == "reauthentication_required"
    done = await client.post(
        "/account/reauthenticate", json={"password": PASSWORD}, headers=csrf_headers(client)
    )
    assert set(done.json()) == {"auth_time"}
    assert client.cookies["sessionid"] != old_cookie  # a new session, new cookies
    response = await client.patch("/account/me", json=change, headers=csrf_headers(client))
    assert response.status_code == 200


async def test_access_tokens_carry_auth_time_and_amr_through_refreshes(client, clock):
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    secret, _ = await enrol(client, headers, clock)
    body = {"username": "alice", "password": PASSWORD}
    token = (await client.post("/account/login", json=body)).json()["mfa_token"]
    logged_in_at = int(clock.now.timestamp())
    pair = (
        await client.post(
            "/account/login/mfa", json={"mfa_token": token, "code": code_at(secret, clock)}
        )
    ).json()
    assert claims(pair["access"])["amr"] == ["pwd", "otp", "mfa"]
    clock.advance(100)
    refreshed = (await client.post("/account/refresh", json={"refresh": pair["refresh"]})).json()
    assert claims(refreshed["access"])["auth_time"] == logged_in_at
    assert claims(refreshed["access"])["amr"] == ["pwd", "otp", "mfa"]


async def test_the_validation_of_reauthenticate(client):
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    for proof in (
        {},
        {"password": PASSWORD, "code": "123456"},
        {"recovery_code": "x", "passkey": {}},
        {"passkey": "not-an-object"},
    ):
        response = await reauth(client, headers, **proof)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    response = await client.post("/account/reauthenticate", json={"password": PASSWORD})
    assert response.status_code == 401


@pytest.fixture
def limited(make_settings):
    return make_settings(rate_limit_login="3/minute", access_token_lifetime=3600)


async def test_wrong_passwords_count_against_the_login_limit(limited, clock):
    from tests.bearer import serving

    async with serving(limited, clock) as (_, c):
        await create_account(c)
        headers = bearer((await token_login(c))["access"])
        for _ in range(3):
            assert (await reauth(c, headers, password="wrong-password")).status_code == 400
        response = await reauth(c, headers, password=PASSWORD)
        assert (response.status_code, response.json()["code"]) == (429, "rate_limited")


@pytest.mark.parametrize("method", ["code", "recovery_code"])
async def test_a_step_up_whose_session_cannot_be_stored_spends_nothing(app, client, clock, method):
    """The code (a TOTP step, or a recovery code) and the session that replaces the old one:
    one unit of work."""
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    secret, recovery = await enrol(client, headers, clock)
    clock.advance(STALE)
    proof = {"code": code_at(secret, clock)} if method == "code" else {"recovery_code": recovery[0]}
    await refuse_sessions(app)
    async with quiet_client(app) as other:
        failed = await other.post(
            "/account/reauthenticate", json=proof, headers={**headers, **REFUSED}
        )
    assert failed.status_code == 500
    # The old session lives on, and the same code replaces it now.
    done = await reauth(client, headers, **proof)
    assert done.status_code == 200, done.text
    amr = {"code": ["pwd", "otp", "mfa"], "recovery_code": ["pwd", "mfa"]}[method]
    assert claims(done.json()["access"])["amr"] == amr
