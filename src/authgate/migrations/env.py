"""Alembic environment: batch mode for SQLite, the models' metadata as target.

SQLite migrates on the standard driver (as the server runs it), PostgreSQL on asyncpg."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from authgate import sqlite
from authgate.db import create_postgres_engine, is_sqlite_url
from authgate.models import Base

config = context.config


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_sqlite(url: str) -> None:
    engine = sqlite.create_engine(url)
    try:
        with engine.connect() as connection:
            run_on(connection)
            connection.commit()
    finally:
        engine.dispose()


async def run_postgres(url: str) -> None:
    engine = create_postgres_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_on)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    URL = config.get_main_option("sqlalchemy.url") or ""
    if is_sqlite_url(URL):
        run_sqlite(URL)
    else:
        asyncio.run(run_postgres(URL))
