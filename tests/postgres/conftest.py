"""PostgreSQL fixtures: each test gets a fresh database cloned from a migrated template.

The server is 127.0.0.1:5432 (user postgres, trust auth) unless AUTHGATE_TEST_PG_URL says
otherwise. Without it these tests skip, except under CI=true, where they fail loudly.
"""

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from fastapi import FastAPI

from authgate import Settings, create_app
from authgate.migrate import upgrade
from tests.conftest import FAST_HASHING, IN_CI, TEST_SECRET

PG_DSN = os.environ.get("AUTHGATE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
pytestmark = pytest.mark.postgres


def _url(database: str) -> str:
    base = PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_DSN, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def _reachable() -> str | None:
    try:
        await _admin("SELECT 1")
    except (OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {PG_DSN} is unreachable: {exc}"
    return None


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import asyncio

    problem = asyncio.run(_reachable())
    if problem:
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)
    name = f"authgate_tmpl_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    folder = tmp_path_factory.mktemp("pg-template")
    upgrade(Settings(data_dir=folder, database_url=_url(name), secret_key=TEST_SECRET))
    yield name
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def pg_settings(pg_template: str, tmp_path) -> AsyncIterator[Settings]:  # type: ignore[no-untyped-def]
    name = f"authgate_t_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    try:
        yield Settings(
            data_dir=tmp_path / "data",
            database_url=_url(name),
            secret_key=TEST_SECRET,
            rate_limit_enabled=False,
            **FAST_HASHING,  # type: ignore[arg-type]
        )
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def app(pg_settings: Settings, clock) -> AsyncIterator[FastAPI]:  # type: ignore[no-untyped-def]
    """The app on PostgreSQL: overrides the SQLite `app` for the tests in this folder."""
    application = create_app(pg_settings)
    application.state.clock = clock
    async with application.router.lifespan_context(application):
        yield application
