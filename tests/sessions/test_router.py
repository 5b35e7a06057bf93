"""Token log-in, the OAuth2 token route, refresh with rotation and reuse detection, verify."""

import asyncio

import jwt
import pytest

from tests.bearer import bearer, create_account, serving, set_user_flags, token_login
from tests.helpers import PASSWORD


async def test_login_returns_a_token_pair(client):
    await create_account(client)
    response = await client.post("/account/login", json={"username": "ALICE", "password": PASSWORD})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"message", "access", "refresh", "token_type", "expires_in"}
    assert body["message"] == "Login successful"
    assert (body["token_type"], body["expires_in"]) == ("bearer", 300)
    assert "." not in body["refresh"] and len(body["refresh"]) >= 43
    claims = jwt.decode(body["access"], options={"verify_signature": False})
    assert set(claims) == {
        "sub",
        "sid",
        "jti",
        "iat",
        "exp",
        "iss",
        "aud",
        "typ",
        "auth_time",
        "amr",
    }
    assert (claims["auth_time"], claims["amr"]) == (claims["iat"], ["pwd"])
    assert (claims["typ"], claims["iss"], claims["aud"]) == ("access", "authgate", "authgate")
    assert claims["exp"] - claims["iat"] == 300
    header = jwt.get_unverified_header(body["access"])
    assert header["alg"] == "HS256" and header["kid"]
    me = await client.get("/account/me", headers=bearer(body["access"]))
    assert me.status_code == 200 and me.json()["username"] == "alice"


async def test_login_accepts_forms_and_speaks_korean(client):
    await create_account(client)
    response = await client.post(
        "/account/login",
        data={"username": "alice", "password": PASSWORD},
        headers={"Accept-Language": "ko"},
    )
    assert response.status_code == 200
    assert response.json()["message"] == "로그인 성공"
    assert response.headers["content-language"] == "ko-KR"


@pytest.mark.parametrize("username", ["alice", "nobody"])
async def test_login_failure_is_the_same_for_unknown_users(client, username):
    await create_account(client)
    response = await client.post(
        "/account/login", json={"username": username, "password": "wrong-password"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "detail": "The username or password is incorrect.",
        "code": "invalid_credentials",
    }


async def test_login_refuses_deactivated_users_bad_bodies_and_types(app, client):
    user = await create_account(client)
    await set_user_flags(app, user["id"], is_active=False)
    response = await client.post("/account/login", json={"username": "alice", "password": PASSWORD})
    assert response.json()["code"] == "invalid_credentials"
    response = await client.post("/account/login", json={"username": "alice"})
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    response = await client.post(
        "/account/login", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")


async def test_oauth2_token_route(client):
    await create_account(client)
    form = {"grant_type": "password", "username": "alice", "password": PASSWORD, "scope": ""}
    response = await client.post("/account/token", data=form)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert (
        await client.get("/account/me", headers=bearer(body["access_token"]))
    ).status_code == 200
    refreshed = await client.post("/account/refresh", json={"refresh": body["refresh_token"]})
    assert refreshed.status_code == 200


async def test_docs_authorize_button_is_wired_to_the_token_route(client):
    spec = (await client.get("/openapi.json")).json()
    scheme = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["flows"]["password"]["tokenUrl"] == "account/token"
    for path, method in [
        ("/account/me", "get"),
        ("/items/{item_id}", "put"),
        ("/account/logout", "post"),
    ]:
        assert spec["paths"][path][method]["security"] == [{"OAuth2PasswordBearer": []}]
    assert "security" not in spec["paths"]["/account/login"]["post"]


async def test_refresh_rotates_and_a_replay_ends_the_session(client):
    await create_account(client)
    first = await token_login(client)
    response = await client.post("/account/refresh", json={"refresh": first["refresh"]})
    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access", "refresh"} and second["refresh"] != first["refresh"]
    assert (await client.get("/account/me", headers=bearer(second["access"]))).status_code == 200
    # The spent token comes back: a thief or the owner, the whole session ends.
    replay = await client.post("/account/refresh", json={"refresh": first["refresh"]})
    assert (replay.status_code, replay.json()["code"]) == (401, "token_reused")
    newest = await client.post("/account/refresh", json={"refresh": second["refresh"]})
    assert newest.json()["code"] == "token_revoked"
    for access in (first["access"], second["access"]):
        response = await client.get("/account/me", headers=bearer(access))
        assert (response.status_code, response.json()["code"]) == (401, "token_revoked")


async def test_concurrent_refreshes_have_one_winner(client):
    await create_account(client)
    pair = await token_login(client)
    responses = await asyncio.gather(
        *(client.post("/account/refresh", json={"refresh": pair["refresh"]}) for _ in range(8))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [401] * 7
    assert {r.json()["code"] for r in responses if r.status_code == 401} == {"token_reused"}


async def test_refresh_without_rotation_returns_only_access(make_settings, clock):
    settings = make_settings(rotate_refresh_tokens=False, rate_limit_enabled=False)
    async with serving(settings, clock) as (_, client):
        await create_account(client)
        pair = await token_login(client)
        for _ in range(2):
            response = await client.post("/account/refresh", json={"refresh": pair["refresh"]})
            assert response.status_code == 200
            assert list(response.json()) == ["access"]


async def test_refresh_failures(app, client, clock):
    user = await create_account(client)
    pair = await token_login(client)
    for token, code in [
        ("x" * 43, "token_invalid"),
        ("y" * 300, "token_invalid"),
        (pair["access"], "token_invalid"),
    ]:
        response = await client.post("/account/refresh", json={"refresh": token})
        assert (response.status_code, response.json()["code"]) == (401, code)
    response = await client.post("/account/refresh", json={"refresh": ""})
    assert response.status_code == 422
    response = await client.post(
        "/account/refresh", json={"refresh": "nope"}, headers={"Accept-Language": "ko"}
    )
    assert response.json() == {"detail": "유효하지 않은 토큰입니다.", "code": "token_invalid"}
    response = await client.post(
        "/account/refresh", content=b"refresh=x", headers={"Content-Type": "text/plain"}
    )
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")
    response = await client.post("/account/refresh", data={"refresh": pair["refresh"]})
    assert response.status_code == 200, "simplejwt clients may send forms"
    pair = response.json()
    clock.advance(86400)
    response = await client.post("/account/refresh", json={"refresh": pair["refresh"]})
    assert response.json()["code"] == "token_expired"
    clock.advance(-86400)
    await set_user_flags(app, user["id"], is_active=False)
    response = await client.post("/account/refresh", json={"refresh": pair["refresh"]})
    assert response.json()["code"] == "token_revoked"


async def test_refresh_fails_for_a_deleted_user(client):
    user = await create_account(client)
    pair = await token_login(client)
    other = await token_login(client)
    response = await client.delete(
        f"/account/delete-account/{user['id']}", headers=bearer(other["access"])
    )
    assert response.status_code == 204
    response = await client.post("/account/refresh", json={"refresh": pair["refresh"]})
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")


async def test_verify(client, clock):
    await create_account(client)
    pair = await token_login(client)
    for token in (pair["access"], pair["refresh"]):
        response = await client.post("/account/verify", json={"token": token})
        assert (response.status_code, response.json()) == (200, {})
    response = await client.post("/account/verify", json={"token": "a.b.c"})
    assert (response.status_code, response.json()["code"]) == (401, "token_invalid")
    response = await client.post("/account/verify", json={"token": "not-a-refresh-token"})
    assert response.json()["code"] == "token_invalid"
    clock.advance(301)
    response = await client.post("/account/verify", json={"token": pair["access"]})
    assert response.json()["code"] == "token_expired"
    clock.advance(-301)
    rotated = (await client.post("/account/refresh", json={"refresh": pair["refresh"]})).json()
    # Verifying spends nothing and ends nothing: a rotated token is merely invalid.
    response = await client.post("/account/verify", json={"token": pair["refresh"]})
    assert response.json()["code"] == "token_invalid"
    await client.post(
        "/account/logout", json={"refresh": rotated["refresh"]}, headers=bearer(rotated["access"])
    )
    for token in (rotated["access"], rotated["refresh"]):
        response = await client.post("/account/verify", json={"token": token})
        assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
