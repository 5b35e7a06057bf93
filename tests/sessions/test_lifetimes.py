"""Absolute session lifetime (however active), new ids at every log-in and password change."""

import jwt
import pytest

from authgate import Settings
from tests.bearer import bearer, create_account, token_login
from tests.helpers import PASSWORD, csrf_headers, signup

ABSOLUTE = 900


@pytest.fixture
def settings(make_settings):
    return make_settings(
        rate_limit_enabled=False,
        session_absolute_lifetime=ABSOLUTE,
        refresh_token_lifetime=600,
        session_cookie_age=600,
    )


def claims(access: str) -> dict:
    return jwt.decode(access, options={"verify_signature": False})


def test_the_default_absolute_lifetime_is_thirty_days(tmp_path):
    assert Settings(data_dir=tmp_path).session_absolute_lifetime == 2_592_000


async def test_refresh_rotation_never_extends_a_session_past_its_deadline(client, clock):
    await create_account(client)
    pair = await token_login(client)
    for _ in range(2):  # busy all along: t = 400, then t = 800
        clock.advance(400)
        response = await client.post("/account/refresh", json={"refresh": pair["refresh"]})
        assert response.status_code == 200
        pair = response.json()
    token = claims(pair["access"])
    assert token["exp"] - token["iat"] == 100  # the access token ends with its session
    clock.advance(101)
    response = await client.post("/account/refresh", json={"refresh": pair["refresh"]})
    assert response.json()["code"] == "token_expired"
    response = await client.get("/account/me", headers=bearer(pair["access"]))
    assert response.json()["code"] == "token_expired"


async def test_the_oauth2_refresh_grant_answers_the_capped_expiry(client, clock):
    await create_account(client)
    refresh = (await token_login(client))["refresh"]
    for step in (500, ABSOLUTE - 500 - 60):
        clock.advance(step)
        form = {"grant_type": "refresh_token", "refresh_token": refresh}
        response = await client.post("/account/token", data=form)
        refresh = response.json()["refresh_token"]
    assert response.json()["expires_in"] == 60


async def test_a_login_near_the_end_gets_short_tokens(make_settings, clock):
    from tests.bearer import serving

    async with serving(make_settings(session_absolute_lifetime=100), clock) as (_, c):
        await create_account(c)
        pair = await token_login(c)
        assert pair["expires_in"] == 100
        assert claims(pair["access"])["exp"] - claims(pair["access"])["iat"] == 100


async def test_the_sliding_cookie_stops_at_the_deadline(client, clock):
    await signup(client)
    clock.advance(400)  # past half of the cookie's age: renewed, but only up to t = 900
    response = await client.get("/account/me")
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "Max-Age=500" in cookie
    clock.advance(400)  # t = 800: no renewal past the deadline
    response = await client.get("/account/me")
    assert (response.status_code, "set-cookie" in response.headers) == (200, False)
    clock.advance(101)
    assert (await client.get("/account/me")).json()["code"] == "token_expired"


async def test_every_login_gets_a_new_session_id_and_secrets(client, new_client):
    await create_account(client)
    first, second = await token_login(client), await token_login(client)
    assert claims(first["access"])["sid"] != claims(second["access"])["sid"]
    assert first["refresh"] != second["refresh"]
    browsers = [new_client(), new_client()]
    for browser in browsers:
        await browser.post("/login", json={"username": "alice", "password": PASSWORD})
    assert browsers[0].cookies["sessionid"] != browsers[1].cookies["sessionid"]


async def test_a_password_change_replaces_the_cookie_session(client, new_client):
    await signup(client)
    before = (await client.get("/account/sessions")).json()
    old_cookie = client.cookies["sessionid"]
    body = {"old_password": PASSWORD, "new_password": "another-horse-battery"}
    response = await client.post(
        "/account/change-password", json=body, headers=csrf_headers(client)
    )
    assert response.status_code == 200
    assert set(response.json()) == {"message"}
    assert client.cookies["sessionid"] != old_cookie
    after = (await client.get("/account/sessions")).json()
    assert [s["id"] for s in after] != [s["id"] for s in before] and len(after) == 1
    stale = new_client()
    stale.cookies.set("sessionid", old_cookie)
    assert (await stale.get("/account/me")).json()["code"] == "token_revoked"
