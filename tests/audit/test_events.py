"""Every event type recorded through HTTP, with the request's fields, in the change's own
transaction. Also run on PostgreSQL (tests/postgres/test_audit.py)."""

import httpx
import pytest
from fastapi import FastAPI

from authgate.admin.bootstrap import create_admin_user
from tests.audit.helpers import AGENT, headers, stored, types
from tests.bearer import bearer, create_account, token_login
from tests.helpers import PASSWORD, csrf_headers, signup

NEW_PASSWORD = "another-horse-battery"


def assert_from_request(event, request_id: str) -> None:  # type: ignore[no-untyped-def]
    assert event.ip == "127.0.0.1"
    assert event.user_agent == AGENT
    assert event.request_id == request_id


async def test_signup_records_signup_and_login(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/signup", json={"username": "Alice", "password": PASSWORD}, headers=headers("su-1")
    )
    user_id = response.json()["user"]["id"]
    signed_up, logged_in = await stored(app)
    assert (signed_up.type, signed_up.user_id, signed_up.session_id) == ("signup", user_id, None)
    assert signed_up.detail == {"username": "Alice", "is_admin": False}
    assert_from_request(signed_up, "su-1")
    assert (logged_in.type, logged_in.user_id) == ("login_succeeded", user_id)
    assert logged_in.detail == {"kind": "cookie"}
    assert logged_in.session_id is not None
    assert_from_request(logged_in, "su-1")


async def test_create_account_records_signup(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/account/create-account",
        json={"username": "bob", "password": PASSWORD},
        headers=headers("ca-1"),
    )
    (event,) = await stored(app)
    assert (event.type, event.user_id) == ("signup", response.json()["id"])
    assert_from_request(event, "ca-1")


async def test_token_login_records_the_new_session(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await create_account(client)
    await token_login(client, **headers("tl-1"))
    sessions_ = await client.get(
        "/account/sessions", headers=bearer((await token_login(client))["access"])
    )
    (event,) = [e for e in await stored(app, type="login_succeeded")][:1]
    assert event.user_id == user["id"]
    assert event.detail == {"kind": "token"}
    assert str(event.session_id) in {s["id"] for s in sessions_.json()}
    assert_from_request(event, "tl-1")


async def test_failed_logins_are_queued_then_written(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user = await create_account(client)
    typed = "Nobody-" + "x" * 300
    for name, request_id in ((typed, "lf-1"), ("ALICE", "lf-2")):
        response = await client.post(
            "/login", json={"username": name, "password": "wrong-password"},
            headers=headers(request_id),
        )  # fmt: skip
        assert response.status_code == 401
    unknown, known = await stored(app, type="login_failed")
    assert unknown.user_id is None
    assert unknown.detail == {"username": typed[:150], "reason": "unknown_user"}
    assert_from_request(unknown, "lf-1")
    assert known.user_id == user["id"]
    assert known.detail == {"username": "ALICE", "reason": "wrong_password"}
    assert_from_request(known, "lf-2")


async def test_inactive_account_login_fails_with_its_reason(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    from tests.bearer import set_user_flags

    user = await create_account(client)
    await set_user_flags(app, user["id"], is_active=False)
    response = await client.post("/account/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 401
    (event,) = await stored(app, type="login_failed")
    assert (event.user_id, event.detail["reason"]) == (user["id"], "inactive")


async def test_cookie_logout(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await signup(client)
    (opened,) = await stored(app, type="login_succeeded")
    await client.post("/logout", headers={**csrf_headers(client), **headers("lo-1")})
    (event,) = await stored(app, type="logout")
    assert (event.user_id, event.session_id) == (user["id"], opened.session_id)
    assert event.detail == {"reason": "logout"}
    assert_from_request(event, "lo-1")


async def test_token_logout_and_logout_all(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_account(client)
    first, second, third = [await token_login(client) for _ in range(3)]
    response = await client.post(
        "/account/logout", json={"refresh": first["refresh"]},
        headers={**bearer(first["access"]), **headers("lo-2")},
    )  # fmt: skip
    assert response.status_code == 200
    (event,) = await stored(app, type="logout")
    assert_from_request(event, "lo-2")
    response = await client.post(
        "/account/logout-all", headers={**bearer(second["access"]), **headers("lo-3")}
    )
    assert response.status_code == 200
    ended = await stored(app, type="logout", request_id="lo-3")
    assert len(ended) == 2  # the second and third sessions
    assert {e.detail["reason"] for e in ended} == {"logout_all"}
    assert third  # its session is among them


async def test_ending_another_device(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_account(client)
    mine, other = await token_login(client), await token_login(client)
    listed = await client.get("/account/sessions", headers=bearer(mine["access"]))
    other_id = next(s["id"] for s in listed.json() if not s["current"])
    response = await client.delete(
        f"/account/sessions/{other_id}", headers={**bearer(mine["access"]), **headers("se-1")}
    )
    assert response.status_code == 204
    (event,) = await stored(app, type="session_ended")
    assert (str(event.session_id), event.detail) == (other_id, {"reason": "ended_by_user"})
    assert_from_request(event, "se-1")
    assert other


async def test_refresh_reuse(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await create_account(client)
    pair = await token_login(client)
    assert (
        await client.post("/account/refresh", json={"refresh": pair["refresh"]})
    ).status_code == 200
    response = await client.post(
        "/account/refresh", json={"refresh": pair["refresh"]}, headers=headers("rr-1")
    )
    assert response.json()["code"] == "token_reused"
    (reused,) = await stored(app, type="refresh_reused")
    (ended,) = await stored(app, type="session_ended")
    assert reused.user_id == ended.user_id == user["id"]
    assert reused.session_id == ended.session_id
    assert ended.detail == {"reason": "refresh_reused"}
    assert_from_request(reused, "rr-1")


async def test_password_change_ends_every_session(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await create_account(client)
    mine, _ = await token_login(client), await token_login(client)
    response = await client.post(
        "/account/change-password",
        json={"old_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={**bearer(mine["access"]), **headers("pc-1")},
    )
    assert response.status_code == 200
    (changed,) = await stored(app, type="password_changed")
    assert changed.user_id == user["id"]
    assert_from_request(changed, "pc-1")
    ended = await stored(app, type="session_ended")
    # Both: the other one, and the caller's, which a new session replaces (new credentials).
    assert len(ended) == 2
    assert {event.detail["reason"] for event in ended} == {"password_changed"}
    assert changed.session_id in {event.session_id for event in ended}
    assert sum(1 for e in await stored(app, type="login_succeeded")) == 3  # 2 log-ins + the new


async def _admin(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    state = app.state
    await create_admin_user(state.db, state.hasher, 8, "root", PASSWORD, None)
    return bearer((await token_login(client, "root"))["access"])


async def test_admin_change_and_deactivation(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin = await _admin(app, client)
    user = await create_account(client, "bob")
    await token_login(client, "bob")
    response = await client.patch(
        f"/admin/users/{user['id']}",
        json={"is_active": False},
        headers={**admin, **headers("au-1")},
    )
    assert response.status_code == 200
    (updated,) = await stored(app, type="user_updated")
    root = (await stored(app, type="signup"))[0].user_id
    assert updated.user_id == user["id"]
    assert updated.detail == {"changes": {"is_active": False}, "actor_id": root}
    assert_from_request(updated, "au-1")
    (ended,) = await stored(app, type="session_ended")
    assert (ended.user_id, ended.detail) == (
        user["id"],
        {"reason": "deactivated", "actor_id": root},
    )


async def test_deletion_keeps_the_history(app: FastAPI, client: httpx.AsyncClient) -> None:
    user = await create_account(client)
    pair = await token_login(client)
    response = await client.delete(
        f"/account/delete-account/{user['id']}",
        headers={**bearer(pair["access"]), **headers("de-1")},
    )
    assert response.status_code == 204
    assert await types(app, user_id=user["id"]) == [
        "signup", "login_succeeded", "session_ended", "user_deleted",
    ]  # fmt: skip
    (deleted,) = await stored(app, type="user_deleted")
    assert deleted.detail == {"username": "alice"}
    assert_from_request(deleted, "de-1")
    (ended,) = await stored(app, type="session_ended")
    assert ended.detail == {"reason": "user_deleted"}


async def test_no_event_when_the_change_rolls_back(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:  # type: ignore[no-untyped-def]
    """The password change fails after its event was recorded, inside the unit: no event."""
    await create_account(client)
    pair = await token_login(client)
    await token_login(client)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk on fire")

    from authgate.sessions import password

    monkeypatch.setattr(password, "end_user_sessions", broken)
    with pytest.raises(RuntimeError):
        await client.post(
            "/account/change-password",
            json={"old_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=bearer(pair["access"]),
        )
    assert await stored(app, type="password_changed") == []
    assert not [r for r in caplog.records if "password_changed" in r.getMessage()]
    monkeypatch.undo()
    # Nor did the change happen: the old password still logs in, both sessions live.
    await token_login(client)
    listed = await client.get("/account/sessions", headers=bearer(pair["access"]))
    assert len(listed.json()) == 3


async def test_no_signup_event_for_a_taken_name(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create_account(client)
    response = await client.post(
        "/account/create-account", json={"username": "ALICE", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert await types(app) == ["signup"]
