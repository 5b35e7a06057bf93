"""/admin: users (listing, search, pagination, activation, admin rights) and CORS origins."""

import httpx
import pytest
from fastapi import FastAPI

from authgate.admin.bootstrap import create_admin_user
from tests.helpers import PASSWORD, csrf_headers, signup


@pytest.fixture
async def admin(app: FastAPI, client: httpx.AsyncClient) -> httpx.AsyncClient:
    """`client`, logged in as the administrator `root`."""
    state = app.state
    await create_admin_user(state.db, state.hasher, 8, "root", PASSWORD, "root@example.com")
    response = await client.post("/login", json={"username": "root", "password": PASSWORD})
    assert response.status_code == 200
    return client


async def patch_user(admin: httpx.AsyncClient, user_id: int, **changes: bool) -> httpx.Response:
    return await admin.patch(f"/admin/users/{user_id}", json=changes, headers=csrf_headers(admin))


ROUTES = [
    ("GET", "/admin/users"),
    ("PATCH", "/admin/users/1"),
    ("GET", "/admin/cors/origins"),
    ("POST", "/admin/cors/origins"),
    ("DELETE", "/admin/cors/origins?origin=http://a.example"),
    ("POST", "/admin/users/1/logout-all"),
    ("POST", "/admin/logout-all"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_admin_only(client: httpx.AsyncClient, new_client, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    response = await client.request(method, path, json={})
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    user = new_client()
    await signup(user, "mallory")
    response = await user.request(method, path, json={}, headers=csrf_headers(user))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_list_search_and_paginate(admin: httpx.AsyncClient, new_client) -> None:  # type: ignore[no-untyped-def]
    for name, email in [("Alice", "alice@corp.example"), ("bob", "BOB@home.example"),
                        ("carol", None), ("ａｌｉｃｅ２", None)]:  # fmt: skip
        extra = {"email": email} if email else {}
        await signup(new_client(), name, **extra)
    response = await admin.get("/admin/users", params={"limit": 2})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = response.json()
    assert [u["username"] for u in page["users"]] == ["root", "Alice"]
    assert set(page["users"][0]) == {
        "id", "username", "email", "first_name", "last_name", "is_admin", "email_verified",
        "date_joined",
    }  # fmt: skip
    seen = [u["username"] for u in page["users"]]
    while page["next"]:
        page = (await admin.get("/admin/users", params={"limit": 2, "cursor": page["next"]})).json()
        seen += [u["username"] for u in page["users"]]
    assert seen == ["root", "Alice", "bob", "carol", "ａｌｉｃｅ２"]

    async def search(q: str) -> list[str]:
        response = await admin.get("/admin/users", params={"q": q})
        return [u["username"] for u in response.json()["users"]]

    assert await search("LIC") == ["Alice", "ａｌｉｃｅ２"]
    assert await search("home.EXAMPLE") == ["bob"]
    assert await search("corp") == ["Alice"]
    assert await search("%") == []
    assert await search("nobody") == []


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"cursor": "***"}, {"cursor": "LTE"}]
)
async def test_list_refuses_bad_parameters(admin: httpx.AsyncClient, params: dict) -> None:
    response = await admin.get("/admin/users", params=params)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_granting_and_revoking_admin_holds_at_once(
    admin: httpx.AsyncClient, new_client
) -> None:  # type: ignore[no-untyped-def]
    dave = new_client()
    user = await signup(dave, "dave")
    assert (await dave.get("/admin/users")).status_code == 403  # caches dave's session state
    response = await patch_user(admin, user["id"], is_admin=True)
    assert response.status_code == 200
    assert response.json()["is_admin"] is True
    assert (await dave.get("/admin/users")).status_code == 200  # same session, new rights
    response = await patch_user(admin, user["id"], is_admin=False)
    assert response.json()["is_admin"] is False
    assert (await dave.get("/admin/users")).status_code == 403


async def test_deactivation_ends_sessions_and_log_in(admin: httpx.AsyncClient, new_client) -> None:  # type: ignore[no-untyped-def]
    erin = new_client()
    user = await signup(erin, "erin")
    assert (await erin.put("/items/e?name=a&size=1", headers=csrf_headers(erin))).status_code == 201
    response = await patch_user(admin, user["id"], is_active=False)
    assert response.status_code == 200
    response = await erin.put("/items/e?name=b&size=2", headers=csrf_headers(erin))
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    login = {"username": "erin", "password": PASSWORD}
    assert (await new_client().post("/login", json=login)).status_code == 401
    assert (await patch_user(admin, user["id"], is_active=True)).status_code == 200
    assert (await new_client().post("/login", json=login)).status_code == 200
    # Reactivation does not bring the ended session back.
    response = await erin.put("/items/e?name=b&size=2", headers=csrf_headers(erin))
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/admin/users/999", {"is_admin": True}, 404),
        ("/admin/users/0", {"is_admin": True}, 422),
        ("/admin/users/99999999999999999999", {"is_admin": True}, 422),
        ("/admin/users/1", {"is_superuser": True}, 422),
        ("/admin/users/1", {"is_active": "maybe"}, 422),
    ],
)
async def test_update_refuses(admin: httpx.AsyncClient, path: str, body: dict, status: int) -> None:
    response = await admin.patch(path, json=body, headers=csrf_headers(admin))
    assert response.status_code == status
    assert response.json()["code"] == ("not_found" if status == 404 else "validation_error")


async def test_update_needs_the_csrf_header_with_cookies(admin: httpx.AsyncClient) -> None:
    response = await admin.patch("/admin/users/1", json={"is_admin": True})
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


async def test_cors_origins(admin: httpx.AsyncClient) -> None:
    origin, headers = "http://localhost:5173", csrf_headers(admin)
    response = await admin.get("/admin/cors/origins")
    assert response.json() == {"static": [], "dynamic": []}
    response = await admin.get("/api/info", headers={"Origin": origin})
    assert "access-control-allow-origin" not in response.headers

    response = await admin.post(
        "/admin/cors/origins", json={"origin": "HTTP://LocalHost:5173"}, headers=headers
    )
    assert response.status_code == 201
    assert response.json()["origin"] == origin
    response = await admin.post("/admin/cors/origins", json={"origin": origin}, headers=headers)
    assert response.status_code == 200  # idempotent: already there
    assert (await admin.get("/admin/cors/origins")).json() == {"static": [], "dynamic": [origin]}
    # The process that made the change honours it at once (the others within 0.5 s).
    response = await admin.get("/api/info", headers={"Origin": origin})
    assert response.headers["access-control-allow-origin"] == origin

    response = await admin.delete("/admin/cors/origins", params={"origin": origin}, headers=headers)
    assert response.status_code == 204
    response = await admin.get("/api/info", headers={"Origin": origin})
    assert "access-control-allow-origin" not in response.headers
    response = await admin.delete("/admin/cors/origins", params={"origin": origin}, headers=headers)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    "origin",
    ["http://localhost:5173/", "http://localhost:5173/app", "http://localhost?x=1",
     "http://user@localhost", "localhost:5173", "ftp://localhost", "", "null"],
)  # fmt: skip
async def test_cors_origins_refuse_what_is_not_an_origin(
    admin: httpx.AsyncClient, origin: str
) -> None:
    headers = csrf_headers(admin)
    response = await admin.post("/admin/cors/origins", json={"origin": origin}, headers=headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    response = await admin.delete("/admin/cors/origins", params={"origin": origin}, headers=headers)
    assert response.status_code == 422


async def test_cors_origins_lists_the_static_ones(make_settings) -> None:  # type: ignore[no-untyped-def]
    from authgate import create_app

    settings = make_settings(cors_origins="https://b.example, https://A.example:443")
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client,
    ):
        await create_admin_user(app.state.db, app.state.hasher, 8, "root", PASSWORD, None)
        await client.post("/login", json={"username": "root", "password": PASSWORD})
        response = await client.get("/admin/cors/origins")
    assert response.json() == {"static": ["https://b.example", "https://a.example"], "dynamic": []}
