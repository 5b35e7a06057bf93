"""Events of requests that change nothing (queued, written in batches), and retention."""

import asyncio

import httpx
from fastapi import FastAPI

from authgate.audit import trail
from authgate.audit.events import EventContext, EventType
from tests.apps import running_app
from tests.audit.helpers import headers, stored, types
from tests.bearer import create_account, token_login
from tests.helpers import PASSWORD


async def test_rate_limited_log_ins_and_sign_ups(make_settings, clock) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(rate_limit_login="1/minute", rate_limit_signup="1/hour")
    async with running_app(settings, clock) as (app, client):
        await create_account(client, "bob")
        refused = await client.post(
            "/account/create-account", json={"username": "carol", "password": PASSWORD},
            headers=headers("rl-1"),
        )  # fmt: skip
        assert refused.status_code == 429
        failed = await client.post("/login", json={"username": "bob", "password": "wrong-one"})
        assert failed.status_code == 401
        refused = await client.post(
            "/login", json={"username": "Bob", "password": PASSWORD}, headers=headers("rl-2")
        )
        assert refused.status_code == 429
        signup, login = await stored(app, type="rate_limited")
        assert (signup.detail, signup.request_id, signup.ip) == (
            {"limit": "signup"},
            "rl-1",
            "127.0.0.1",
        )
        assert login.detail == {"limit": "login", "username": "Bob"}
        assert login.request_id == "rl-2"


async def test_the_answer_does_not_wait_for_the_write(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Queued events are written by the background task, not by the request."""
    await app.state.audit.stop()  # no background writer: what the request wrote is all there is
    response = await client.post("/login", json={"username": "ghost", "password": "whatever1"})
    assert response.status_code == 401
    assert app.state.audit.queued == 1
    assert await types(app) == ["login_failed"]  # written by flush() in `stored`


async def test_background_task_writes_batches(app: FastAPI, client: httpx.AsyncClient) -> None:
    context = EventContext(at=app.state.clock(), ip="10.0.0.1")
    for n in range(trail.BATCH + 5):
        app.state.audit.later(EventType.LOGIN_FAILED, context, username=f"u{n}")
    for _ in range(100):
        if app.state.audit.queued == 0:
            break
        await asyncio.sleep(0.02)
    assert app.state.audit.queued == 0
    rows = await stored(app)
    assert [row.detail["username"] for row in rows] == [f"u{n}" for n in range(trail.BATCH + 5)]


async def test_shutdown_writes_what_is_queued(make_settings, clock) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(rate_limit_enabled=False)
    async with running_app(settings, clock) as (app, client):
        await app.state.audit.stop()
        await client.post("/login", json={"username": "ghost", "password": "whatever1"})
        assert app.state.audit.queued == 1
    async with running_app(settings, clock) as (app, _):
        assert await types(app) == ["login_failed"]


async def test_retention_deletes_old_events_in_batches(
    app: FastAPI, client: httpx.AsyncClient, clock
) -> None:  # type: ignore[no-untyped-def]
    for name in ("a1", "a2", "a3", "a4", "a5"):
        await create_account(client, name)
    clock.advance(89 * 86400)
    await token_login(client, "a1")
    app.state.audit.prune_batch = 2
    assert await app.state.audit.prune_expired() == 0
    clock.advance(2 * 86400)  # the sign-ups are 91 days old, the log-in 2 days
    assert await app.state.audit.prune_expired() == 5
    assert await types(app) == ["login_succeeded"]


async def test_retention_setting(make_settings, clock) -> None:  # type: ignore[no-untyped-def]
    async with running_app(make_settings(audit_retention_days=1), clock) as (app, client):
        await create_account(client)
        clock.advance(86400 + 1)
        assert await app.state.audit.prune_expired() == 1


async def test_stop_right_after_an_event_is_queued(make_settings, clock) -> None:  # type: ignore[no-untyped-def]
    """A wake-up and the stop at once must not leave the background task running (the stop
    would wait for it for ever)."""
    async with running_app(make_settings(rate_limit_enabled=False), clock) as (app, _):
        for n in range(20):
            app.state.audit.later(EventType.RATE_LIMITED, EventContext(), n=n)
            await asyncio.sleep(0)
            await asyncio.wait_for(app.state.audit.stop(), 5)
            await app.state.audit.start(clock)
        assert len(await stored(app)) == 20
