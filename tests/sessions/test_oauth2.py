"""The standard OAuth2 surface: both grants of /account/token, RFC 6749 errors, revocation (RFC
7009) and the authorization server metadata (RFC 8414)."""

import pytest

from tests.bearer import bearer, create_account
from tests.helpers import PASSWORD

RFC_ERROR_KEYS = {"error", "error_description", "detail", "code"}


async def password_grant(client, username="alice", password=PASSWORD) -> dict:
    form = {"grant_type": "password", "username": username, "password": password}
    response = await client.post("/account/token", data=form)
    assert response.status_code == 200, response.text
    return response.json()


async def refresh_grant(client, refresh: str, **extra: str):
    form = {"grant_type": "refresh_token", "refresh_token": refresh, **extra}
    return await client.post("/account/token", data=form)


async def test_refresh_token_grant_rotates_and_ignores_client_id(client):
    await create_account(client)
    first = await password_grant(client)
    response = await refresh_grant(client, first["refresh_token"], client_id="my-spa")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["refresh_token"] != first["refresh_token"]
    me = await client.get("/account/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200


async def test_refresh_grant_reuse_ends_the_session(client):
    await create_account(client)
    first = await password_grant(client)
    second = (await refresh_grant(client, first["refresh_token"])).json()
    replay = await refresh_grant(client, first["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert replay.json()["code"] == "token_reused"
    after = await refresh_grant(client, second["refresh_token"])
    assert (after.json()["error"], after.json()["code"]) == ("invalid_grant", "token_revoked")
    me = await client.get("/account/me", headers=bearer(second["access_token"]))
    assert me.json()["code"] == "token_revoked"


@pytest.fixture
def settings(make_settings):
    return make_settings(rate_limit_enabled=False, refresh_token_lifetime=600)


async def test_refresh_grant_failures_carry_our_codes(client, clock):
    await create_account(client)
    response = await refresh_grant(client, "not-a-token")
    assert (response.json()["error"], response.json()["code"]) == ("invalid_grant", "token_invalid")
    expired = await password_grant(client)
    clock.advance(601)
    response = await refresh_grant(client, expired["refresh_token"])
    assert (response.json()["error"], response.json()["code"]) == ("invalid_grant", "token_expired")


async def test_token_errors_follow_rfc_6749_in_every_case(client):
    await create_account(client)
    wrong = {"grant_type": "password", "username": "alice", "password": "wrong-password"}
    response = await client.post("/account/token", data=wrong, headers={"Accept-Language": "ko"})
    assert response.status_code == 400
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "아이디 또는 비밀번호가 올바르지 않습니다.",
        "detail": "아이디 또는 비밀번호가 올바르지 않습니다.",
        "code": "invalid_credentials",
    }
    cases = [
        ({**wrong, "grant_type": "client_credentials"}, "unsupported_grant_type"),
        ({"username": "alice"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "password", "password": "x" * 5000, "username": "a"}, "invalid_request"),
        ({"grant_type": ""}, "invalid_request"),
    ]
    for form, error in cases:
        response = await client.post("/account/token", data=form)
        assert response.status_code == 400, form
        assert set(response.json()) == RFC_ERROR_KEYS
        assert response.json()["error"] == error, form
    response = await client.post(
        "/account/token", content=b"\xff", headers={"Content-Type": "text/plain"}
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_rate_limited_token_requests_keep_429_in_rfc_shape(make_settings, clock):
    from tests.bearer import serving

    async with serving(make_settings(rate_limit_login="2/minute"), clock) as (_, c):
        await create_account(c)
        wrong = {"grant_type": "password", "username": "alice", "password": "wrong-password"}
        for _ in range(2):
            await c.post("/account/token", data=wrong)
        response = await c.post("/account/token", data={**wrong, "password": PASSWORD})
        assert response.status_code == 429
        assert "retry-after" in response.headers
        body = response.json()
        assert set(body) == RFC_ERROR_KEYS
        assert (body["error"], body["code"]) == ("temporarily_unavailable", "rate_limited")


@pytest.mark.parametrize("which", ["refresh_token", "access_token"])
async def test_revoke_ends_the_session_of_either_token(client, which):
    await create_account(client)
    pair = await password_grant(client)
    hint = {"token_type_hint": which}
    response = await client.post("/account/revoke", data={"token": pair[which], **hint})
    assert (response.status_code, response.json()) == (200, {})
    me = await client.get("/account/me", headers=bearer(pair["access_token"]))
    assert me.json()["code"] == "token_revoked"
    again = await refresh_grant(client, pair["refresh_token"])
    assert again.json()["code"] == "token_revoked"


async def test_revoke_answers_200_for_anything_and_leaves_others_alone(client):
    await create_account(client)
    pair = await password_grant(client)
    for token in ("unknown", "a.b.c", "x" * 300, pair["refresh_token"], pair["refresh_token"]):
        response = await client.post("/account/revoke", data={"token": token})
        assert (response.status_code, response.json()) == (200, {})
    other = await password_grant(client)
    me = await client.get("/account/me", headers=bearer(other["access_token"]))
    assert me.status_code == 200
    response = await client.post("/account/revoke", data={})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_authorization_server_metadata(client):
    response = await client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    meta = response.json()
    assert meta["issuer"] == "http://testserver"
    assert meta["token_endpoint"] == "http://testserver/account/token"
    assert meta["revocation_endpoint"] == "http://testserver/account/revoke"
    assert meta["jwks_uri"] == "http://testserver/.well-known/jwks.json"
    assert meta["grant_types_supported"] == ["password", "refresh_token"]
    assert meta["token_endpoint_auth_methods_supported"] == ["none"]
    assert meta["response_types_supported"] == []


async def test_openapi_documents_the_oauth2_routes(client):
    spec = (await client.get("/openapi.json")).json()
    token = spec["paths"]["/account/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert {"400", "429"} <= set(token["responses"])
    assert "/account/revoke" in spec["paths"]
    assert "/.well-known/oauth-authorization-server" in spec["paths"]
