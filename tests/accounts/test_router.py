"""/account routes about the user: create-account, me, change-password, delete-account."""

from tests.bearer import bearer, create_account, set_user_flags, token_login
from tests.helpers import PASSWORD, csrf_headers, signup

NEW_PASSWORD = "a-brand-new-passphrase"


async def test_create_account_returns_the_user_without_password(client):
    response = await client.post(
        "/account/create-account",
        json={"username": "Alice", "password": PASSWORD, "email": "alice@example.com",
              "first_name": "Alice", "last_name": "Liddell"},
    )  # fmt: skip
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "id", "username", "email", "first_name", "last_name", "is_admin", "email_verified",
        "date_joined",
    }  # fmt: skip
    assert (body["username"], body["first_name"], body["is_admin"]) == ("Alice", "Alice", False)
    assert PASSWORD not in response.text
    assert "set-cookie" not in response.headers


async def test_create_account_errors(client):
    await create_account(client, "alice", email="alice@example.com")
    cases = [
        ({"username": "ALICE", "password": PASSWORD}, 400, "username_taken"),
        (
            {"username": "bob", "password": PASSWORD, "email": "Alice@Example.com"},
            400,
            "email_taken",
        ),
        ({"username": "bob", "password": "1234"}, 422, "password_policy"),
        ({"username": "bob", "password": "password123"}, 422, "password_policy"),
        ({"username": "bad name", "password": PASSWORD}, 422, "validation_error"),
        ({"username": "bob"}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        response = await client.post("/account/create-account", json=body)
        assert (response.status_code, response.json()["code"]) == (status, code), body
    response = await client.post(
        "/account/create-account",
        json={"username": "alice", "password": PASSWORD},
        headers={"Accept-Language": "ko"},
    )
    assert response.json()["detail"] == "이미 존재하는 사용자입니다."


async def test_me_through_bearer_and_cookie(client, new_client):
    browser = new_client()
    user = await signup(browser, "alice")
    pair = await token_login(client)
    assert (await client.get("/account/me", headers=bearer(pair["access"]))).json() == user
    assert (await browser.get("/account/me")).json() == user


async def test_patch_me(app, client):
    await create_account(client, "bob", email="bob@example.com")
    alice = await create_account(client, "alice", email="alice@example.com")
    await set_user_flags(app, alice["id"], email_verified=True)
    pair = await token_login(client)
    response = await client.patch(
        "/account/me",
        json={"email": "New@Example.com", "first_name": "Al", "last_name": "Ice"},
        headers=bearer(pair["access"]),
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["email"], body["first_name"], body["last_name"]) == (
        "New@example.com",
        "Al",
        "Ice",
    )
    assert body["email_verified"] is False, "a new address must be verified again"
    # The cached session state was refreshed: the next request sees the change.
    me = await client.get("/account/me", headers=bearer(pair["access"]))
    assert me.json()["first_name"] == "Al"
    for patch, status, code in [
        ({"email": "BOB@example.com"}, 400, "email_taken"),
        ({"email": "not-an-address"}, 422, "validation_error"),
        ({"username": "mallory"}, 422, "validation_error"),
        ({"is_admin": True}, 422, "validation_error"),
    ]:
        response = await client.patch("/account/me", json=patch, headers=bearer(pair["access"]))
        assert (response.status_code, response.json()["code"]) == (status, code)
    response = await client.patch(
        "/account/me", json={"email": None}, headers=bearer(pair["access"])
    )
    assert response.json()["email"] is None and response.json()["first_name"] == "Al"


async def test_patch_me_from_a_browser_needs_csrf(client):
    await signup(client, "alice")
    response = await client.patch("/account/me", json={"first_name": "A"})
    assert (response.status_code, response.json()["code"]) == (403, "csrf_failed")
    response = await client.patch(
        "/account/me", json={"first_name": "A"}, headers=csrf_headers(client)
    )
    assert response.status_code == 200


async def test_change_password_ends_every_session_and_replaces_the_callers(client, new_client):
    browser = new_client()
    await signup(browser, "alice")
    current, other = await token_login(client), await token_login(client)
    body = {"old_password": "wrong-password", "new_password": NEW_PASSWORD}
    response = await client.post(
        "/account/change-password", json=body, headers=bearer(current["access"])
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_credentials")
    body = {"old_password": PASSWORD, "new_password": "alice"}
    response = await client.post(
        "/account/change-password", json=body, headers=bearer(current["access"])
    )
    assert (response.status_code, response.json()["code"]) == (422, "password_policy")
    body = {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    response = await client.post(
        "/account/change-password", json=body, headers=bearer(current["access"])
    )
    assert response.status_code == 200
    changed = response.json()
    assert changed["message"] == "Your password has been changed."
    assert set(changed) == {"message", "access", "refresh", "token_type", "expires_in"}
    for old in (current, other):
        response = await client.get("/account/me", headers=bearer(old["access"]))
        assert response.json()["code"] == "token_revoked"
        response = await client.post("/account/refresh", json={"refresh": old["refresh"]})
        assert response.json()["code"] == "token_revoked"
    assert (await browser.get("/account/me")).json()["code"] == "token_revoked"
    assert (await client.get("/account/me", headers=bearer(changed["access"]))).status_code == 200
    refreshed = await client.post("/account/refresh", json={"refresh": changed["refresh"]})
    assert refreshed.status_code == 200
    response = await client.post("/account/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 401
    await token_login(client, "alice", NEW_PASSWORD)


async def test_delete_own_account(client):
    user = await create_account(client)
    pair = await token_login(client)
    item = await client.put("/items/mine?name=Fighters&size=6", headers=bearer(pair["access"]))
    assert item.status_code == 201
    response = await client.delete(
        f"/account/delete-account/{user['id']}", headers=bearer(pair["access"])
    )
    assert response.status_code == 204
    assert (await client.get("/items/mine")).status_code == 404
    response = await client.get("/account/me", headers=bearer(pair["access"]))
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
    response = await client.post("/account/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 401
    # The name is free again, but the new alice is somebody else: old tokens never reach her.
    again = await create_account(client)
    assert again["id"] > user["id"]
    response = await client.get("/account/me", headers=bearer(pair["access"]))
    assert response.json()["code"] == "token_revoked"


async def test_a_deleted_accounts_refresh_tokens_are_revoked_not_unknown(client, clock):
    user = await create_account(client)
    pair = await token_login(client)
    spent = pair["refresh"]
    pair = {**pair, **(await client.post("/account/refresh", json={"refresh": spent})).json()}
    as_alice = bearer(pair["access"])
    assert (
        await client.delete(f"/account/delete-account/{user['id']}", headers=as_alice)
    ).status_code == 204
    for token in (pair["refresh"], spent):
        response = await client.post("/account/refresh", json={"refresh": token})
        assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
        response = await client.post("/account/verify", json={"token": token})
        assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
    response = await client.post("/account/verify", json={"token": pair["access"]})
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
    # A token that never existed is still just invalid.
    response = await client.post("/account/refresh", json={"refresh": "x" * 43})
    assert response.json()["code"] == "token_invalid"


async def test_delete_someone_elses_account(app, client):
    alice, bob = await create_account(client, "alice"), await create_account(client, "bob")
    admin = await create_account(client, "root")
    await set_user_flags(app, admin["id"], is_admin=True)
    as_bob = bearer((await token_login(client, "bob"))["access"])
    as_root = bearer((await token_login(client, "root"))["access"])
    as_alice = bearer((await token_login(client, "alice"))["access"])
    response = await client.delete(f"/account/delete-account/{alice['id']}", headers=as_bob)
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    response = await client.delete("/account/delete-account/999999", headers=as_bob)
    assert response.status_code == 403
    response = await client.delete("/account/delete-account/999999", headers=as_root)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    response = await client.delete("/account/delete-account/abc", headers=as_root)
    assert response.status_code == 422
    response = await client.delete(f"/account/delete-account/{alice['id']}", headers=as_root)
    assert response.status_code == 204
    assert (await client.get("/account/me", headers=as_alice)).json()["code"] == "token_revoked"
    assert (await client.get("/account/me", headers=as_bob)).json()["id"] == bob["id"]
    response = await client.delete(f"/account/delete-account/{bob['id']}")
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
