"""The seed tutorial's Postman walk-through, with its request bodies, against authgate.

create-account -> login -> refresh -> logout -> delete-account. Two deliberate differences:
the tutorial's password "1234" breaks the password policy (at least 8 characters, not a common
password), so a compliant one is used; and log-out kills the access token at once (simplejwt's
left it working), so deleting the account afterwards needs a fresh log-in.
"""

import httpx

TUTORIAL_USER = {
    "username": "myuser",
    "password": "1234",
    "email": "myuser@test.com",
    "first_name": "Doe",
    "last_name": "John",
}
COMPLIANT_PASSWORD = "myuser-tutorial-pass"


async def walk_through(client: httpx.AsyncClient) -> None:
    # 3-1: the tutorial's own body is refused by the policy; the same with a good password works.
    response = await client.post("/account/create-account", json=TUTORIAL_USER)
    assert (response.status_code, response.json()["code"]) == (422, "password_policy")
    signup = {**TUTORIAL_USER, "password": COMPLIANT_PASSWORD}
    response = await client.post("/account/create-account", json=signup)
    assert response.status_code == 201
    user = response.json()
    assert "password" not in user
    assert {k: user[k] for k in ("username", "email", "first_name", "last_name")} == {
        k: TUTORIAL_USER[k] for k in ("username", "email", "first_name", "last_name")
    }
    # 3-2: log in.
    credentials = {"username": "myuser", "password": COMPLIANT_PASSWORD}
    response = await client.post("/account/login", json=credentials)
    assert response.status_code == 200
    login = response.json()
    assert login["message"] == "Login successful" and login["access"] and login["refresh"]
    # 3-3: refresh (ROTATE_REFRESH_TOKENS=True in the tutorial: both tokens come back).
    response = await client.post("/account/refresh", json={"refresh": login["refresh"]})
    assert response.status_code == 200
    rotated = response.json()
    assert set(rotated) == {"access", "refresh"}
    # 3-4: log out with the new access token as Bearer and the new refresh token in the body.
    auth = {"Authorization": f"Bearer {rotated['access']}"}
    response = await client.post(
        "/account/logout", json={"refresh": rotated["refresh"]}, headers=auth
    )
    assert (response.status_code, response.json()) == (200, {"message": "Logout successful"})
    response = await client.post("/account/refresh", json={"refresh": rotated["refresh"]})
    assert response.status_code == 401
    # 3-5: delete the account. The logged-out access token no longer works...
    response = await client.delete(f"/account/delete-account/{user['id']}", headers=auth)
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
    # ...so log in again first.
    fresh = (await client.post("/account/login", json=credentials)).json()
    auth = {"Authorization": f"Bearer {fresh['access']}"}
    response = await client.delete(f"/account/delete-account/{user['id']}", headers=auth)
    assert response.status_code == 204
    response = await client.post("/account/login", json=credentials)
    assert response.status_code == 401


async def test_the_tutorial_walk_through(client):
    await walk_through(client)
