"""Liveness and readiness, with the database up and with it unreachable."""

from tests.apps import running_app


async def test_health(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "cache-control" not in response.headers


async def test_ready_without_redis(client):
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "disabled"}


async def test_an_unreachable_database_is_503_not_500(make_settings, tmp_path):
    # A SQLite file in a folder that does not exist cannot be opened.
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'missing' / 'db.sqlite'}",
        rate_limit_enabled=False,
    )
    async with running_app(settings) as (_, client):
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json() == {"database": "error", "redis": "disabled"}
        assert (await client.get("/health")).status_code == 200
        for route in ("/signup", "/login"):
            response = await client.post(
                route,
                json={"username": "alice", "password": "correct-horse-battery"},
                headers={"Accept-Language": "ko"},
            )
            assert response.status_code == 503
            assert response.json() == {
                "detail": "서비스를 일시적으로 사용할 수 없습니다.",
                "code": "service_unavailable",
            }
