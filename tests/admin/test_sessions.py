"""Administrators end the sessions of one user, or of every user (ASVS 7.4.5)."""

import httpx
import pytest
from fastapi import FastAPI

from authgate.admin.bootstrap import create_admin_user
from tests.bearer import bearer, create_account, token_login
from tests.helpers import PASSWORD, csrf_headers, signup


@pytest.fixture
async def admin(app: FastAPI, new_client) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    """A client logged in (cookie session) as the administrator `root`."""
    state = app.state
    await create_admin_user(state.db, state.hasher, 8, "root", PASSWORD, "root@example.com")
    client = new_client()
    response = await client.post("/login", json={"username": "root", "password": PASSWORD})
    assert response.status_code == 200
    return client


async def user_with_two_sessions(new_client, name: str) -> tuple[int, httpx.AsyncClient, str]:  # type: ignore[no-untyped-def]
    """A user logged in twice: a cookie session (the client) and a token session (its access)."""
    browser = new_client()
    user = await signup(browser, name)
    access = (await token_login(browser, name))["access"]
    return user["id"], browser, access


async def still_in(browser: httpx.AsyncClient, access: str) -> tuple[int, int]:
    by_cookie = (await browser.get("/account/me")).status_code
    by_token = (await browser.get("/account/me", headers=bearer(access))).status_code
    return by_cookie, by_token


async def test_an_admin_ends_every_session_of_one_user(app, admin, new_client):
    alice_id, alice, alice_access = await user_with_two_sessions(new_client, "alice")
    _, bob, bob_access = await user_with_two_sessions(new_client, "bob")
    response = await admin.post(f"/admin/users/{alice_id}/logout-all", headers=csrf_headers(admin))
    assert response.status_code == 200
    assert response.json() == {"ended": 2}
    assert await still_in(alice, alice_access) == (401, 401)
    assert (await alice.get("/account/me")).json()["code"] == "token_revoked"
    assert await still_in(bob, bob_access) == (200, 200)
    # The account stays active: alice logs in again.
    assert (await token_login(alice, "alice"))["access"]
    await app.state.audit.flush()
    events = (await admin.get("/admin/audit", params={"type": "session_ended"})).json()["events"]
    ended = [e for e in events if e["user_id"] == alice_id]
    assert [e["detail"]["reason"] for e in ended] == ["admin", "admin"], ended
    assert {e["user_id"] for e in events} == {alice_id}


async def test_an_unknown_user_is_404(admin):
    response = await admin.post("/admin/users/999/logout-all", headers=csrf_headers(admin))
    assert (response.status_code, response.json()["code"]) == (404, "not_found")


async def test_an_admin_ends_everyones_sessions_but_their_own(admin, new_client):
    _, alice, alice_access = await user_with_two_sessions(new_client, "alice")
    _, bob, bob_access = await user_with_two_sessions(new_client, "bob")
    response = await admin.post("/admin/logout-all", headers=csrf_headers(admin))
    assert response.status_code == 200
    assert response.json() == {"ended": 4}
    assert await still_in(alice, alice_access) == (401, 401)
    assert await still_in(bob, bob_access) == (401, 401)
    assert (await admin.get("/account/me")).status_code == 200


async def test_a_token_admin_keeps_their_own_session(app, client, new_client):
    state = app.state
    await create_admin_user(state.db, state.hasher, 8, "root", PASSWORD, None)
    access = (await token_login(client, "root"))["access"]
    await create_account(new_client(), "carol")
    response = await client.post("/admin/logout-all", headers=bearer(access))
    assert response.status_code == 200
    assert (await client.get("/account/me", headers=bearer(access))).status_code == 200


async def test_the_cookie_needs_its_csrf_token(admin, new_client):
    _, alice, alice_access = await user_with_two_sessions(new_client, "alice")
    response = await admin.post("/admin/logout-all")
    assert (response.status_code, response.json()["code"]) == (403, "csrf_failed")
    assert await still_in(alice, alice_access) == (200, 200)
