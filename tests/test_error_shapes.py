"""One error shape everywhere: 415 for a body of the wrong type, 422 in FastAPI's list shape for
every body or parameter that does not validate, depth bombs included."""

import pytest

from tests.bearer import bearer, create_account, set_user_flags, token_login

JSON_ROUTES = [
    ("PATCH", "/account/me"),
    ("POST", "/account/change-password"),
    ("PATCH", "/admin/users/1"),
    ("POST", "/admin/cors/origins"),
    ("POST", "/account/password-reset"),
    ("POST", "/account/password-reset/confirm"),
    ("POST", "/account/verify-email"),
]


@pytest.fixture
async def admin_headers(app, client):  # type: ignore[no-untyped-def]
    user = await create_account(client, "root")
    await set_user_flags(app, user["id"], is_admin=True)
    return bearer((await token_login(client, "root"))["access"])


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
@pytest.mark.parametrize(
    "kind", ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
)
async def test_a_body_of_another_type_is_415(client, admin_headers, method, path, kind):
    headers = {**admin_headers, "Content-Type": kind}
    response = await client.request(method, path, content=b"email=a@example.com", headers=headers)
    assert response.status_code == 415, response.text
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
async def test_a_depth_bomb_is_a_422_in_the_list_shape(client, admin_headers, method, path):
    bomb = b"[" * 10_000 + b"]" * 10_000
    headers = {**admin_headers, "Content-Type": "application/json"}
    response = await client.request(method, path, content=bomb, headers=headers)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "validation_error"
    assert isinstance(body["detail"], list)


@pytest.mark.parametrize("cursor", ["!", "a b", "x" * 201])
async def test_a_bad_cursor_is_the_same_422_on_every_list(client, admin_headers, cursor):
    for path in ("/admin/users", "/items"):
        response = await client.get(path, params={"cursor": cursor}, headers=admin_headers)
        assert response.status_code == 422, (path, response.text)
        body = response.json()
        assert body["code"] == "validation_error"
        assert isinstance(body["detail"], list)
        assert body["detail"][0]["loc"] == ["query", "cursor"]
