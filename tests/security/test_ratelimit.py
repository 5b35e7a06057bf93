"""Abuse limits through HTTP: log-in per username (failures) and per IP, sign-up per IP."""

import uuid

import httpx
import pytest
import redis.asyncio as aioredis

from authgate import create_app
from authgate.errors import RateLimited
from authgate.security.ratelimit import Limits
from authgate.settings import Settings
from tests.conftest import IN_CI
from tests.helpers import PASSWORD, signup


@pytest.fixture
def settings(make_settings):
    return make_settings(
        rate_limit_login="3/minute", rate_limit_login_ip="6/minute", rate_limit_signup="2/minute"
    )


async def test_failed_logins_per_username_are_limited(client, new_client):
    await signup(new_client(), "alice")
    for _ in range(3):
        response = await client.post(
            "/login", json={"username": "alice", "password": "wrong-password"}
        )
        assert response.status_code == 401
    # The fourth attempt is refused before the password is even checked, right or wrong,
    # and the normalised name shares the budget.
    response = await client.post("/login", json={"username": "ALICE", "password": PASSWORD})
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_successful_logins_do_not_use_the_username_budget(client, new_client):
    await signup(new_client(), "bob")
    for _ in range(5):
        response = await client.post("/login", json={"username": "bob", "password": PASSWORD})
        assert response.status_code == 200


async def test_every_attempt_counts_per_ip(client):
    statuses = []
    for n in range(7):
        response = await client.post("/login", json={"username": f"user{n}", "password": "x" * 8})
        statuses.append(response.status_code)
    assert statuses == [401] * 6 + [429]


async def test_signups_per_ip(client, new_client):
    await signup(new_client(), "carol")
    await signup(new_client(), "dave")
    response = await new_client().post("/signup", json={"username": "erin", "password": PASSWORD})
    assert response.status_code == 429
    assert "retry-after" in response.headers


async def test_forwarded_for_is_ignored_from_untrusted_peers(client, new_client):
    await signup(new_client(), "frank")
    await signup(new_client(), "grace")
    response = await new_client().post(
        "/signup",
        json={"username": "heidi", "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert response.status_code == 429


async def test_forwarded_for_is_believed_from_trusted_proxies(make_settings):
    app = create_app(make_settings(trusted_proxies="127.0.0.1", rate_limit_signup="1/minute"))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5555))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as c,
    ):
        for n, ip in enumerate(["203.0.113.1", "203.0.113.2"]):
            response = await c.post(
                "/signup",
                json={"username": f"proxied{n}", "password": PASSWORD},
                headers={"X-Forwarded-For": ip},
            )
            assert response.status_code == 201
        response = await c.post(
            "/signup",
            json={"username": "proxied9", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.1"},
        )
        assert response.status_code == 429


@pytest.mark.redis
async def test_limits_are_shared_through_redis():
    """Two instances (two Limits objects) on one Redis share one budget."""
    try:
        await aioredis.from_url("redis://127.0.0.1:6379/0").ping()
    except OSError as exc:
        if IN_CI:
            pytest.fail(f"Redis is required under CI: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    config = Settings(redis_url="redis://127.0.0.1:6379/0", rate_limit_signup="2/minute")
    first, second = Limits(config), Limits(config)
    ip = f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex}"
    await first.hit_signup(ip)
    await second.hit_signup(ip)
    with pytest.raises(RateLimited):
        await first.hit_signup(ip)
