"""The data layer's plumbing: declarative base, portable types, engine and session factories.

Two ways to talk to the database. Most routes use an ORM `AsyncSession` (`DbSession`,
`ReadDbSession`). The hot paths (log-in, sign-up, refresh, the session cache) instead hand a
whole unit of work, a plain function of a SQLAlchemy `Connection` running Core statements, to
`Database.write` or `Database.read`: it runs in one transaction, committed when the function
returns and rolled back when it raises. On PostgreSQL the function runs on the event loop
through asyncpg (`AsyncConnection.run_sync`). On SQLite it runs whole on a thread of its own
with the standard `sqlite3` driver: one hand-off between threads per unit, where aiosqlite
makes one per driver call (begin, cursor, execute, fetch, close, commit: each a thread wake-up
and a trip through the GIL, which cost more than the statements themselves). SQLite admits one
writer at a time, so each process has a single writer thread: its writes queue there, in
order, rather than in SQLite's busy handler, which sleeps.
"""

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    MetaData,
    PoolResetState,
    event,
    make_url,
)
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_only

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


T = TypeVar("T")
Work = Callable[[Connection], T]
SQLITE_READERS = 2


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        # Pool resets are done by `_tune_sqlite`'s handler, only when needed.
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_reset_on_return=None)
        _tune_sqlite(engine.sync_engine, asynchronous=True)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _tune_sqlite(engine: Engine, *, asynchronous: bool) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so that BEGIN is ours to choose.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # Writers take the lock up front: a deferred transaction that reads and then writes
        # fails at once with SQLITE_BUSY when another process wrote in between, whereas
        # BEGIN IMMEDIATE waits for the busy timeout. Read-only sessions stay deferred.
        readonly = connection.get_execution_options().get("authgate_readonly")
        _begin(connection, "BEGIN" if readonly else "BEGIN IMMEDIATE", asynchronous)

    @event.listens_for(engine.pool, "reset")
    def on_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
        # The pool's own reset rolls back every connection it gets back, a round trip to the
        # driver's thread even after a commit; only one still in a transaction needs it.
        driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        if state.asyncio_safe and driver.in_transaction:
            dbapi_connection.rollback()


def _begin(connection: Any, statement: str, asynchronous: bool) -> None:
    # aiosqlite runs each driver call on its own thread and every call is a round trip to it:
    # `exec_driver_sql` takes three (cursor, execute, close), the driver's `execute` one.
    driver = connection.connection.driver_connection
    try:
        if asynchronous:
            await_only(driver.execute(statement))
        else:
            driver.execute(statement)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


class _SqliteThreads:
    """Units of work on a SQLite file, each run whole on a thread: one writer, a few readers.

    Each thread keeps its connection for good (no pool check-out and check-in per unit)."""

    def __init__(self, url: str) -> None:
        self.engine = create_sync_engine(
            make_url(url).set(drivername="sqlite+pysqlite"),
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=SQLITE_READERS + 1,
            pool_reset_on_return=None,
        )
        _tune_sqlite(self.engine, asynchronous=False)
        self._reading = self.engine.execution_options(authgate_readonly=True)
        self._writer = _Writer(self.engine)
        self._readers = ThreadPoolExecutor(SQLITE_READERS, thread_name_prefix="authgate-db-read")
        self._local = threading.local()
        self._connections: list[Connection] = []

    async def run(self, work: Work[T], *, readonly: bool) -> T:
        if not readonly:
            return await self._writer.submit(work)
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._read, work)

    def _read(self, work: Work[T]) -> T:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._reading.connect()
            self._connections.append(connection)
        with connection.begin():
            return work(connection)

    def close(self) -> None:
        self._writer.close()
        self._readers.shutdown()
        for connection in self._connections:
            connection.close()
        self.engine.dispose()


class _Writer:
    """The one writer thread of a SQLite file, committing the units queued meanwhile together.

    Under load, units queue while one runs. The next round takes them all and runs each in a
    savepoint of one transaction, with one COMMIT: appending to the write-ahead log is the
    costliest step of a small write, and a round pays it once. A unit that raises is rolled
    back to its savepoint alone and gets its exception; when the COMMIT fails, every unit of
    the round that had succeeded gets that error instead. A lone unit runs in a plain
    transaction. Each round's answers reach each event loop in one wake-up.
    """

    MAX_ROUND = 64

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[tuple[Work[Any], asyncio.Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._serve, name="authgate-db-write", daemon=True)
        self._thread.start()

    def submit(self, work: Work[T]) -> "asyncio.Future[T]":
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put((work, future))
        return future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _serve(self) -> None:
        connection: Connection | None = None
        try:
            while (first := self._queue.get()) is not None:
                queued = [first]
                while len(queued) < self.MAX_ROUND:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:  # closing: finish this round first
                        self._queue.put(None)
                        break
                    queued.append(item)
                works = [work for work, _ in queued]
                try:
                    if connection is None:
                        connection = self._engine.connect()
                    outcomes = self._round(connection, works)
                except Exception as exc:  # no connection (a missing folder, a full disk...)
                    outcomes = [(False, exc)] * len(works)
                self._answer(queued, outcomes)
        finally:
            if connection is not None:
                connection.close()

    @staticmethod
    def _answer(
        queued: list[tuple[Work[Any], "asyncio.Future[Any]"]], outcomes: list[tuple[bool, Any]]
    ) -> None:
        answers: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        for (_, future), outcome in zip(queued, outcomes, strict=True):
            answers.setdefault(future.get_loop(), []).append((future, *outcome))
        for loop, settled in answers.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed
                loop.call_soon_threadsafe(_settle, settled)

    @staticmethod
    def _round(connection: Connection, works: list[Work[Any]]) -> list[tuple[bool, Any]]:
        if len(works) == 1:
            try:
                with connection.begin():
                    return [(True, works[0](connection))]
            except Exception as exc:
                return [(False, exc)]
        outcomes: list[tuple[bool, Any]] = []
        try:
            with connection.begin():
                driver = connection.connection.driver_connection
                for work in works:
                    driver.execute("SAVEPOINT unit")
                    try:
                        outcomes.append((True, work(connection)))
                    except Exception as exc:
                        driver.execute("ROLLBACK TO unit")
                        outcomes.append((False, exc))
                    driver.execute("RELEASE unit")
        except Exception as exc:
            failed = (False, exc)
            outcomes = [outcome if not outcome[0] else failed for outcome in outcomes]
            outcomes += [failed] * (len(works) - len(outcomes))
        return outcomes


def _settle(settled: list[tuple["asyncio.Future[Any]", bool, Any]]) -> None:
    for future, ok, value in settled:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


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
        self._threads = _SqliteThreads(url) if self.is_sqlite and not _in_memory(url) else None

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


class Prepared:
    """A Core statement compiled once per dialect and run straight on the driver's cursor.

    For the few statements of the hottest paths (a refresh, a log-in, the session cache's
    load). SQLAlchemy's per-execution machinery (cache key, execution context, events, result
    set-up) costs several times what SQLite spends on such a statement: ~100 µs against ~20.
    The statement is still written with Core and compiled by SQLAlchemy for the connection's
    dialect, and values pass through the column types' own bind and result processors, so they
    are stored and read exactly as everywhere else. `run` returns the rows (named tuples) of a
    statement with columns (SELECT, or RETURNING), else the count of rows affected. An INSERT
    names the columns it sets, and sets them all: column defaults are not applied here.
    """

    def __init__(self, statement: Select[Any] | UpdateBase, *, insert: Sequence[str] = ()):
        self.statement = statement
        self._insert = list(insert)
        self._plans: dict[str, _Plan] = {}

    def run(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        plan = self._plans.get(connection.dialect.name)
        if plan is None:
            plan = self._plans[connection.dialect.name] = self._compile(connection.dialect)
        values = [
            params[name] if process is None else process(params[name])
            for name, process in plan.binds
        ]
        cursor = connection.connection.cursor()
        try:
            cursor.execute(plan.sql, values)
            if plan.row is None:
                return cursor.rowcount
            rows = cursor.fetchall()
        finally:
            cursor.close()
        return [plan.make(row) for row in rows]

    def _compile(self, dialect: Dialect) -> "_Plan":
        compiled = self.statement.compile(dialect=dialect, column_keys=self._insert or None)
        if not compiled.positional or compiled.positiontup is None:
            raise TypeError(f"{dialect.name}: Prepared needs a positional paramstyle")
        binds = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup
        ]
        columns = list(self.statement.exported_columns)
        if not columns:
            return _Plan(compiled.string, binds, None, [])
        row = namedtuple("Row", [column.key for column in columns])  # type: ignore[misc]
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        return _Plan(compiled.string, binds, row, processors)


class _Plan:
    __slots__ = ("binds", "processors", "row", "sql")

    def __init__(
        self, sql: str, binds: list[tuple[str, Any]], row: Any, processors: list[Any]
    ) -> None:
        self.sql, self.binds, self.row, self.processors = sql, binds, row, processors

    def make(self, values: Sequence[Any]) -> Any:
        return self.row._make(
            value if process is None else process(value)
            for value, process in zip(values, self.processors, strict=True)
        )


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
