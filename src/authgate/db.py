"""The one way to the database: units of work run by `Database.read` and `Database.write`.

A unit of work is a plain function of a SQLAlchemy `Connection` (Core statements, or
`authgate.units.Prepared` ones on the hottest paths), run whole in one transaction: committed
when it returns, rolled back when it raises. Services write units and never commit, so one
rule is one transaction. Changes a unit announces (`authgate.changes.announce`) are published
through the change feed after the commit. On SQLite a unit runs on a thread of its own with the
standard `sqlite3` driver (`authgate.sqlite`); on PostgreSQL on the event loop through asyncpg
(`AsyncConnection.run_sync`). A database that cannot be reached, read or written raises
`ServiceUnavailable` (503), whatever the driver said.
"""

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Generic, NamedTuple

from sqlalchemy import DateTime, MetaData, make_url, text
from sqlalchemy import exc as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from authgate import sqlite
from authgate.changes import Change, ChangeFeed, take_announced
from authgate.errors import ServiceUnavailable
from authgate.units import T, Work, take_after_commit

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# SQLSTATE classes of a server that is gone, starting or stopping: connection exception,
# insufficient resources, operator intervention (`the database system is starting up`...).
UNAVAILABLE_SQLSTATES = ("08", "53", "57")
# A standby, or a server set read-only, answers queries but refuses every write.
PG_READ_WRITE = (
    "SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off'"
)


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

    # On SQLite, the two steps (UTC, then SQLAlchemy's text form) in one function each: the
    # same text, a third of the cost (SQLAlchemy formats it with a %-dict, and parses it with a
    # regular expression). A refresh binds eight datetimes; this was a fifth of its database
    # thread's time in a profile.
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        return _sqlite_text if dialect.name == "sqlite" else super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return _sqlite_datetime
        return super().result_processor(dialect, coltype)


# The text of the datetimes bound lately: a unit binds its `now` several times (a refresh
# binds eight datetimes, three different), and formatting one costs ten times a look-up.
_TEXTS: dict[datetime, str] = {}
_TEXTS_KEPT = 256


def _sqlite_text(value: datetime | None) -> str | None:
    """`value` as SQLAlchemy's SQLite DATETIME stores it: naive UTC, 2026-11-30 08:11:28.324714."""
    if value is None:
        return None
    text = _TEXTS.get(value)
    if text is not None:
        return text
    if value.tzinfo is UTC:  # authgate's clock: cut the "+00:00" (`replace` parses keywords)
        text = value.isoformat(" ", "microseconds")[:-6]
    elif value.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    else:
        text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if len(_TEXTS) >= _TEXTS_KEPT:
        _TEXTS.clear()
    _TEXTS[value] = text
    return text


def _sqlite_datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value + "+00:00")  # a fifth of `.replace(tzinfo=UTC)`
    except ValueError:  # stored with an offset of its own, by something other than authgate
        return datetime.fromisoformat(value).astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_sqlite_url(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_postgres_engine(url: str) -> AsyncEngine:
    # Bounded waits: a server that is down must cost a request a 503 within seconds, not the
    # driver's default minute.
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=20,
        # No ping per check-out (a round trip each: a fifth of a refresh's time): a connection
        # that died with the server fails its first statement instead, which answers 503 and
        # makes SQLAlchemy drop every pooled connection older than the failure.
        pool_pre_ping=False,
        pool_timeout=5,
        connect_args={"timeout": 5, "command_timeout": 30},
    )


class Database:
    """Runs units of work on one database, and publishes what they announce."""

    def __init__(self, url: str, feed: ChangeFeed) -> None:
        self.url = url
        self.feed = feed
        self.is_sqlite = is_sqlite_url(url)
        self._sqlite = sqlite.SqliteThreads(url) if self.is_sqlite else None
        self._engine = None if self.is_sqlite else create_postgres_engine(url)

    async def write(self, work: Work[T], *, single_statement: bool = False) -> T:
        """Run `work(connection)` in one read-write transaction; committed when it returns.

        `single_statement`: `work` runs exactly one statement (and announces nothing), which
        PostgreSQL then runs as its own transaction, without BEGIN and COMMIT round trips.
        """
        try:
            if self._sqlite is not None:
                done = await self._sqlite.run(self._collecting(work), readonly=False)
            else:
                done = await self._on_postgres(
                    self._collecting(work), transaction=not single_statement
                )
                assert not (single_statement and done.changes), "a lone statement announces nothing"
        except Exception as exc:
            _raise_unavailable(exc)
            raise
        if done.changes:  # first: what other processes must hear never waits on a log line
            await self.feed.publish(done.changes, done.number)
        for callback in done.callbacks:
            callback()
        return done.result

    async def read(self, work: Work[T]) -> T:
        """Run `work(connection)`, which only reads: on SQLite in one deferred transaction (one
        snapshot); on PostgreSQL in autocommit (a snapshot per statement, as in a transaction
        at READ COMMITTED)."""
        try:
            if self._sqlite is not None:
                return await self._sqlite.run(work, readonly=True)
            return await self._on_postgres(work, transaction=False)
        except Exception as exc:
            _raise_unavailable(exc)
            raise

    async def _on_postgres(self, work: Work[T], *, transaction: bool) -> T:
        """`work` on a pooled connection: in a transaction, or in autocommit (a read, or a
        write of one statement, which is then its own transaction).

        A read needs no transaction: at PostgreSQL's READ COMMITTED every statement takes its
        own snapshot, in a transaction or not, so BEGIN and ROLLBACK would only add two round
        trips (each an event-loop wake-up) to every read.
        """
        assert self._engine is not None
        async with self._engine.connect() as connection:
            try:
                if transaction:
                    async with connection.begin():
                        return await connection.run_sync(work)
                connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                return await connection.run_sync(work)
            except self._engine.dialect.loaded_dbapi.Error as exc:
                # Raised by a Prepared statement on the driver's cursor, past SQLAlchemy, which
                # therefore did not see a connection die with the server: drop it from the pool
                # here, or every later check-out of it would fail the same way.
                raw = await connection.get_raw_connection()
                if self._engine.dialect.is_disconnect(exc, raw.dbapi_connection, None):
                    await connection.invalidate()
                    raise ServiceUnavailable() from exc
                raise

    def _collecting(self, work: Work[T]) -> Work["_Done[T]"]:
        """`work`, returning what it announced too, which the feed sees before the commit, and
        what it asked to run after the commit."""

        def run(connection: Connection) -> _Done[T]:
            take_announced(connection)  # nothing left over from a unit that raised
            take_after_commit(connection)
            result = work(connection)
            changes = take_announced(connection)
            number = self.feed.within(connection, changes) if changes else None
            return _Done(result, changes, number, take_after_commit(connection))

        return run

    async def check_writable(self) -> None:
        """ServiceUnavailable unless the database answers and would take a write."""
        if not await self.read(_is_writable):
            raise ServiceUnavailable()

    async def dispose(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
        if self._engine is not None:
            await self._engine.dispose()


class _Done(NamedTuple, Generic[T]):
    """What a unit of work returned, announced (and the feed's number for it), and asked to
    run after its commit."""

    result: T
    changes: list[Change]
    number: int | None
    callbacks: list[Callable[[], None]]


def _is_writable(connection: Connection) -> bool:
    if connection.dialect.name == "sqlite":
        return sqlite.is_writable(connection)
    return bool(connection.execute(text(PG_READ_WRITE)).scalar())


def _raise_unavailable(exc: Exception) -> None:
    """Raise ServiceUnavailable when `exc` says the database cannot serve; else return."""
    if is_unavailable(exc):
        raise ServiceUnavailable() from exc


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sa.IntegrityError | sa.ProgrammingError | sa.DataError):
        return False
    if isinstance(exc, sa.OperationalError | sa.InterfaceError | sa.TimeoutError):
        return True
    if isinstance(exc, sa.DBAPIError):
        return exc.connection_invalidated or _sqlstate(exc.orig).startswith(UNAVAILABLE_SQLSTATES)
    # The hot paths' Prepared statements meet the driver's own errors: a locked, read-only
    # or full database file; a connection refused or dropped.
    return isinstance(exc, sqlite3.OperationalError | OSError)


def _sqlstate(error: Any) -> str:
    code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return code if isinstance(code, str) else ""
