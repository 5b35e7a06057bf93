"""The shipped Alembic migrations build exactly the models' schema, on SQLite and PostgreSQL."""

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, delete, insert, inspect, select

from authgate import Settings, sqlite
from authgate.accounts.models import User
from authgate.db import Database, create_postgres_engine, is_sqlite_url
from authgate.hostfeed import HostFeed
from authgate.migrate import alembic_config, upgrade
from authgate.models import Base
from tests.conftest import IN_CI, TEST_SECRET

POSTGRES_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


async def _postgres(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, dropped afterwards."""
    name = f"authgate_test_{secrets.token_hex(6)}"
    try:
        asyncio.run(_postgres(f'CREATE DATABASE "{name}"'))
    except (TimeoutError, OSError) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true: {exc!r}")
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc!r}")
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings on an empty database of each backend (nothing migrated yet)."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    return Settings(data_dir=tmp_path / "data", database_url=url, secret_key=TEST_SECRET)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def _on_database(settings: Settings, work: Any) -> Any:
    url = settings.effective_database_url
    if is_sqlite_url(url):
        engine = sqlite.create_engine(url)
        try:
            with engine.connect() as connection:
                return work(connection)
        finally:
            engine.dispose()

    async def run() -> Any:
        engine = create_postgres_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def test_migrations_build_exactly_the_models_schema(settings):
    upgrade(settings)
    assert _on_database(settings, _differences) == []
    assert _on_database(settings, _tables) == {*Base.metadata.tables, "alembic_version"}


def test_upgrade_downgrade_upgrade(settings):
    config = alembic_config(settings.effective_database_url)
    upgrade(settings)
    command.downgrade(config, "base")
    assert _on_database(settings, _tables) <= {"alembic_version", "sqlite_sequence"}
    upgrade(settings)
    assert _on_database(settings, _differences) == []
    upgrade(settings)  # idempotent


async def _add_user(database: Database, name: str) -> int:
    statement = insert(User).values(username=name, username_key=name, password_hash="-")
    return await database.write(
        lambda connection: connection.execute(statement.returning(User.id)).scalar_one()
    )


async def _execute(database: Database, statement: Any) -> None:
    await database.write(lambda connection: connection.execute(statement))


def test_user_ids_are_never_reused(settings):
    upgrade(settings)

    async def scenario() -> list[int]:
        feed = HostFeed(settings.data_dir)
        database = Database(settings.effective_database_url, feed)
        try:
            first = await _add_user(database, "first")
            second = await _add_user(database, "second")
            await _execute(database, delete(User).where(User.id == second))
            third = await _add_user(database, "third")
            await _execute(database, delete(User))
            fourth = await _add_user(database, "fourth")
            found = await database.read(
                lambda connection: connection.execute(select(User.id)).scalars().all()
            )
            assert found == [fourth]
            return [first, second, third, fourth]
        finally:
            await database.dispose()
            feed.close()

    ids = asyncio.run(scenario())
    assert ids == sorted(ids) and len(set(ids)) == 4, ids
