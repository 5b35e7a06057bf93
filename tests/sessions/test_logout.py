"""Ending token sessions: log-out, log-out everywhere, listing and ending one session."""

import uuid

from tests.bearer import bearer, create_account, token_login
from tests.helpers import PASSWORD, csrf_headers, signup


async def _code(client, access: str) -> str | int:
    response = await client.get("/account/me", headers=bearer(access))
    return response.status_code if response.status_code == 200 else response.json()["code"]


async def test_logout_ends_the_refresh_and_the_access_token(client):
    await create_account(client)
    pair = await token_login(client)
    response = await client.post(
        "/account/logout", json={"refresh": pair["refresh"]}, headers=bearer(pair["access"])
    )
    assert (response.status_code, response.json()) == (200, {"message": "Logout successful"})
    assert response.headers["cache-control"] == "no-store"
    assert await _code(client, pair["access"]) == "token_revoked"
    response = await client.post("/account/refresh", json={"refresh": pair["refresh"]})
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")


async def test_logout_with_another_users_refresh_token_is_forbidden(client):
    await create_account(client, "alice")
    await create_account(client, "bob")
    alice, bob = await token_login(client, "alice"), await token_login(client, "bob")
    response = await client.post(
        "/account/logout", json={"refresh": bob["refresh"]}, headers=bearer(alice["access"])
    )
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert await _code(client, bob["access"]) == 200
    assert await _code(client, alice["access"]) == 200


async def test_logout_needs_a_token_and_a_real_refresh_token(client):
    await create_account(client)
    pair = await token_login(client)
    response = await client.post("/account/logout", json={"refresh": pair["refresh"]})
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    response = await client.post(
        "/account/logout", json={"refresh": "made-up"}, headers=bearer(pair["access"])
    )
    assert (response.status_code, response.json()["code"]) == (401, "token_invalid")
    response = await client.post("/account/logout", json={}, headers=bearer(pair["access"]))
    assert response.status_code == 422
    assert await _code(client, pair["access"]) == 200


async def test_logout_all_ends_every_session(client, new_client):
    browser = new_client()
    await signup(browser, "alice")
    phone, laptop = await token_login(client), await token_login(client)
    response = await client.post("/account/logout-all", headers=bearer(phone["access"]))
    assert response.status_code == 200
    assert response.json()["message"] == "All sessions have been ended."
    for pair in (phone, laptop):
        assert await _code(client, pair["access"]) == "token_revoked"
        response = await client.post("/account/refresh", json={"refresh": pair["refresh"]})
        assert response.json()["code"] == "token_revoked"
    response = await browser.get("/account/me")
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")


async def test_logout_all_from_a_cookie_session_needs_csrf(client):
    await signup(client, "alice")
    response = await client.post("/account/logout-all")
    assert (response.status_code, response.json()["code"]) == (403, "csrf_failed")
    response = await client.post("/account/logout-all", headers=csrf_headers(client))
    assert response.status_code == 200
    assert (await client.get("/account/me")).status_code == 401


async def test_sessions_list_marks_the_current_one(client, new_client, clock):
    browser = new_client()
    await signup(browser, "alice")
    clock.advance(1)
    pair = await token_login(client, **{"User-Agent": "phone-app/1.0"})
    response = await client.get("/account/sessions", headers=bearer(pair["access"]))
    assert response.status_code == 200
    listed = response.json()
    assert [s["kind"] for s in listed] == ["token", "cookie"]
    token_session, cookie_session = listed
    assert set(token_session) == {
        "id", "kind", "created_at", "last_seen_at", "expires_at", "user_agent", "ip", "current"
    }  # fmt: skip
    assert token_session["current"] and not cookie_session["current"]
    assert token_session["user_agent"] == "phone-app/1.0"
    assert token_session["ip"] == "127.0.0.1"
    from_browser = (await browser.get("/account/sessions")).json()
    assert [s["current"] for s in from_browser] == [False, True]


async def test_ending_one_session(client, new_client):
    browser = new_client()
    await signup(browser, "alice")
    await create_account(client, "bob")
    pair, bob = await token_login(client), await token_login(client, "bob")
    listed = (await browser.get("/account/sessions")).json()
    cookie_id = next(s["id"] for s in listed if s["kind"] == "cookie")
    bob_id = (await client.get("/account/sessions", headers=bearer(bob["access"]))).json()[0]["id"]
    for wanted in (bob_id, str(uuid.uuid4()), "not-a-uuid", "1"):
        response = await client.delete(
            f"/account/sessions/{wanted}", headers=bearer(pair["access"])
        )
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    response = await client.delete(f"/account/sessions/{cookie_id}", headers=bearer(pair["access"]))
    assert response.status_code == 204
    assert (await browser.get("/account/me")).json()["code"] == "token_revoked"
    response = await client.delete(f"/account/sessions/{cookie_id}", headers=bearer(pair["access"]))
    assert response.status_code == 404
    assert await _code(client, bob["access"]) == 200
    current = (await client.get("/account/sessions", headers=bearer(pair["access"]))).json()
    assert [s["current"] for s in current] == [True]
    response = await client.delete(
        f"/account/sessions/{current[0]['id']}", headers=bearer(pair["access"])
    )
    assert response.status_code == 204
    assert await _code(client, pair["access"]) == "token_revoked"


async def test_a_session_list_needs_authentication(client):
    response = await client.get("/account/sessions")
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    response = await client.post("/login", json={"username": "x", "password": PASSWORD})
    assert response.status_code == 401
