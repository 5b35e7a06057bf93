"""Verified access tokens are remembered: what must still be judged on every request is."""

from tests.bearer import bearer, create_account, token_login


async def me(client, token: str) -> tuple[int, str | None]:
    response = await client.get("/account/me", headers=bearer(token))
    return response.status_code, response.json().get("code")


async def test_a_remembered_token_still_expires(app, client, clock):
    await create_account(client)
    access = (await token_login(client))["access"]
    assert await me(client, access) == (200, None)
    assert await me(client, access) == (200, None)
    clock.advance(app.state.settings.access_token_lifetime + 1)
    assert await me(client, access) == (401, "token_expired")


async def test_an_altered_copy_of_a_remembered_token_is_checked_in_full(client):
    await create_account(client)
    access = (await token_login(client))["access"]
    assert await me(client, access) == (200, None)
    body, signature = access.rsplit(".", 1)
    altered = f"{body}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"
    assert await me(client, altered) == (401, "token_invalid")
    assert await me(client, access + "x") == (401, "token_invalid")


async def test_a_remembered_token_of_an_ended_session_is_revoked_at_once(client):
    await create_account(client)
    tokens = await token_login(client)
    assert await me(client, tokens["access"]) == (200, None)
    response = await client.post(
        "/account/logout", json={"refresh": tokens["refresh"]}, headers=bearer(tokens["access"])
    )
    assert response.status_code == 200
    assert await me(client, tokens["access"]) == (401, "token_revoked")
