from tests.helpers import csrf_headers, signup


async def test_signup_login_item_logout(client, new_client):
    user = await signup(client, "alice")
    assert user["username"] == "alice"
    response = await client.put("/items/foo?name=Fighters&size=6", headers=csrf_headers(client))
    assert response.status_code == 201
    other = new_client()
    response = await other.post(
        "/login", data={"username": "ALICE", "password": "correct-horse-battery"}
    )
    assert response.status_code == 200
    response = await client.post("/logout", headers=csrf_headers(client))
    assert response.status_code == 200
    response = await client.put("/items/foo?name=x&size=1")
    assert response.status_code == 401
