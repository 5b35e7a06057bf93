"""Items with Bearer tokens: judged by the token alone, so no CSRF header is needed."""

from tests.bearer import bearer, create_account, token_login
from tests.helpers import signup


async def test_put_and_delete_with_a_bearer_token_need_no_csrf(client):
    await create_account(client)
    auth = bearer((await token_login(client))["access"])
    response = await client.put("/items/foo?name=Fighters&size=6", headers=auth)
    assert response.status_code == 201
    assert response.json()["item"]["owner"] == "alice"
    response = await client.put("/items/foo", json={"name": "Foo", "size": 7}, headers=auth)
    assert response.status_code == 200
    assert (await client.delete("/items/foo", headers=auth)).status_code == 204


async def test_a_bearer_request_ignores_the_cookie_session(client):
    await signup(client, "alice")
    # A cookie alone needs the CSRF header...
    response = await client.put("/items/foo?name=a&size=1")
    assert (response.status_code, response.json()["code"]) == (403, "csrf_failed")
    # ...a valid Bearer token beside it does not: the token alone is judged.
    auth = bearer((await token_login(client))["access"])
    assert (await client.put("/items/foo?name=a&size=1", headers=auth)).status_code == 201
    # And a bad token is not rescued by the good cookie.
    response = await client.put("/items/foo?name=b&size=2", headers=bearer("a.b.c"))
    assert (response.status_code, response.json()["code"]) == (401, "token_invalid")


async def test_someone_elses_item_is_forbidden_with_a_token(client):
    await create_account(client, "alice")
    await create_account(client, "bob")
    alice = bearer((await token_login(client, "alice"))["access"])
    bob = bearer((await token_login(client, "bob"))["access"])
    assert (await client.put("/items/foo?name=a&size=1", headers=alice)).status_code == 201
    response = await client.delete("/items/foo", headers=bob)
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    response = await client.put("/items/foo?name=b&size=1", headers=bob)
    assert response.status_code == 403
