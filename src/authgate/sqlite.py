"""SQLite: connection tuning, and units of work run whole on threads of their own.

Each unit runs on a database thread with the standard `sqlite3` driver: one hand-off between
threads per unit, where aiosqlite makes one per driver call (begin, cursor, execute, fetch,
close, commit: each a thread wake-up and a trip through the GIL, which cost more than the
statements themselves). SQLite admits one writer at a time, so each process has one writer
thread: its writes queue there, in order, rather than in SQLite's busy handler, which sleeps.
"""

import asyncio
import contextlib
import queue
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Connection, Engine, PoolResetState, event, make_url
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.util import await_only

from authgate.units import T, Work

READERS = 2


def tune(engine: Engine, *, asynchronous: bool) -> None:
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


class SqliteThreads:
    """Units of work on a SQLite file, each run whole on a thread: one writer, a few readers.

    Each thread keeps its connection for good (no pool check-out and check-in per unit)."""

    def __init__(self, url: str) -> None:
        self.engine = create_sync_engine(
            make_url(url).set(drivername="sqlite+pysqlite"),
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=READERS + 1,
            pool_reset_on_return=None,
        )
        tune(self.engine, asynchronous=False)
        self._reading = self.engine.execution_options(authgate_readonly=True)
        self._writer = _Writer(self.engine)
        self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="authgate-db-read")
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
