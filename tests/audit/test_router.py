"""GET /admin/audit and GET /account/events: filters, pages newest first, bad cursors."""

from datetime import timedelta

import httpx
from fastapi import FastAPI

from authgate.admin.bootstrap import create_admin_user
from tests.audit.helpers import stored
from tests.bearer import bearer, create_account, token_login
from tests.helpers import PASSWORD

EVENT_FIELDS = {
    "id", "at", "type", "user_id", "session_id", "ip", "user_agent", "request_id", "detail",
}  # fmt: skip


async def _admin(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    state = app.state
    await create_admin_user(state.db, state.hasher, 8, "root", PASSWORD, None)
    return bearer((await token_login(client, "root"))["access"])


async def _pages(client: httpx.AsyncClient, path: str, auth, **params) -> list[list[dict]]:  # type: ignore[no-untyped-def]
    pages, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query, headers=auth)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        body = response.json()
        pages.append(body["events"])
        cursor = body["next"]
        if cursor is None:
            return pages


async def test_admin_audit_pages_newest_first(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await _admin(app, client)
    await create_account(client, "bob")
    await token_login(client, "bob")
    await client.post("/account/login", json={"username": "bob", "password": "nope-nope"})
    everything = await stored(app)
    pages = await _pages(client, "/admin/audit", admin, limit=2)
    events = [event for page in pages for event in page]
    assert [len(page) for page in pages[:-1]] == [2] * (len(pages) - 1)
    assert [e["id"] for e in events] == [str(row.id) for row in reversed(everything)]
    assert set(events[0]) == EVENT_FIELDS
    newest = events[0]
    assert newest["type"] == "login_failed"
    assert newest["user_id"] is not None
    assert newest["detail"] == {"username": "bob", "reason": "wrong_password"}
    assert newest["ip"] == "127.0.0.1"


async def test_admin_audit_filters(app: FastAPI, client: httpx.AsyncClient, clock) -> None:  # type: ignore[no-untyped-def]
    await create_admin_user(app.state.db, app.state.hasher, 8, "root", PASSWORD, None)
    bob = await create_account(client, "bob")
    clock.advance(3600)
    later = clock.now
    await token_login(client, "bob")
    await create_account(client, "carol")
    admin = bearer((await token_login(client, "root"))["access"])  # after: tokens live 300 s
    response = await client.get("/admin/audit", params={"user_id": bob["id"]}, headers=admin)
    assert [e["type"] for e in response.json()["events"]] == ["login_succeeded", "signup"]
    response = await client.get("/admin/audit", params={"type": "signup"}, headers=admin)
    assert [e["detail"]["username"] for e in response.json()["events"]] == ["carol", "bob", "root"]
    since = (later - timedelta(seconds=1)).isoformat()
    response = await client.get("/admin/audit", params={"since": since}, headers=admin)
    assert [e["type"] for e in response.json()["events"]] == [
        "login_succeeded", "signup", "login_succeeded",
    ]  # fmt: skip
    response = await client.get(
        "/admin/audit", params={"since": since, "type": "signup", "user_id": bob["id"]},
        headers=admin,
    )  # fmt: skip
    assert response.json() == {"events": [], "next": None}


async def test_admin_audit_refuses_bad_input(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await _admin(app, client)
    for params in (
        {"cursor": "not-a-cursor!"},
        {"cursor": "WyJ4Il0"},  # ["x"]
        {"cursor": "Wy0xXQ"},  # [-1]
        {"type": "no_such_type"},
        {"limit": 0},
        {"limit": 101},
        {"since": "yesterday"},
    ):
        response = await client.get("/admin/audit", params=params, headers=admin)
        assert response.status_code == 422, params
        assert response.json()["code"] == "validation_error"


async def test_admin_audit_is_for_admins(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin/audit")).status_code == 401
    await create_account(client, "bob")
    response = await client.get(
        "/admin/audit", headers=bearer((await token_login(client, "bob"))["access"])
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


async def test_own_events_only(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_account(client, "alice")
    await create_account(client, "bob")
    for _ in range(3):
        await token_login(client, "alice")
    await token_login(client, "bob")
    mine = bearer((await token_login(client, "alice"))["access"])
    pages = await _pages(client, "/account/events", mine, limit=2)
    events = [event for page in pages for event in page]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [e["type"] for e in events] == ["login_succeeded"] * 4 + ["signup"]
    assert {e["user_id"] for e in events} == {events[0]["user_id"]}
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), key=int, reverse=True)


async def test_own_events_need_a_session_and_a_good_cursor(client: httpx.AsyncClient) -> None:
    assert (await client.get("/account/events")).status_code == 401
    await create_account(client)
    auth = bearer((await token_login(client))["access"])
    response = await client.get("/account/events", params={"cursor": "%%%"}, headers=auth)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
