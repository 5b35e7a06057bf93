"""The data layer's plumbing: declarative base, portable types, engine and session factories.

Two ways to talk to the database. Most routes use an ORM `AsyncSession` (`DbSession`,
`ReadDbSession`). The hot paths (log-in, sign-up, refresh, the session cache) instead hand a
whole unit of work, a plain function of a SQLAlchemy `Connection` running Core statements, to
`Database.write` or `Database.read`: it runs in one transaction, committed when the function
returns and rolled back when it raises. On PostgreSQL the function runs on the event loop
through asyncpg (`AsyncConnection.run_sync`); on SQLite whole on a thread of its own
(`authgate.sqlite`). The statements of the hottest paths are `authgate.units.Prepared`.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from authgate import sqlite
from authgate.units import T, Work

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        # Pool resets are done by `sqlite.tune`'s handler, only when needed.
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_reset_on_return=None)
        sqlite.tune(engine.sync_engine, asynchronous=True)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


class Database:
    """The engine, its two session factories (read-only, deferred; and read-write), and the
    units of work (`read`, `write`) of the hot paths."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        reading = self.engine.execution_options(authgate_readonly=True)
        self.writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self.reader = async_sessionmaker(reading, expire_on_commit=False)
        self._reading = reading
        # An in-memory database exists once per connection: only the async engine's can serve.
        self._threads = (
            sqlite.SqliteThreads(url) if self.is_sqlite and not _in_memory(url) else None
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    async def write(self, work: Work[T]) -> T:
        """Run `work(connection)` in one read-write transaction; committed when it returns."""
        if self._threads is not None:
            return await self._threads.run(work, readonly=False)
        async with self.engine.begin() as connection:
            return await connection.run_sync(work)

    async def read(self, work: Work[T]) -> T:
        """Run `work(connection)` in one read-only (on SQLite: deferred) transaction."""
        if self._threads is not None:
            return await self._threads.run(work, readonly=True)
        async with self._reading.begin() as connection:
            return await connection.run_sync(work)

    async def dispose(self) -> None:
        if self._threads is not None:
            self._threads.close()
        await self.engine.dispose()


def _in_memory(url: str) -> bool:
    database = make_url(url).database
    return not database or database == ":memory:" or "mode=memory" in url


async def _write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.db.writer() as session:
        yield session


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.db.reader() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(_write_session)]
ReadDbSession = Annotated[AsyncSession, Depends(_read_session)]
