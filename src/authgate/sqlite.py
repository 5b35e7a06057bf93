"""SQLite: connection tuning, and units of work run whole on threads of their own.

Each unit runs on a database thread with the standard `sqlite3` driver: one hand-off between
threads per unit, where aiosqlite makes one per driver call (begin, cursor, execute, fetch,
close, commit: each a thread wake-up and a trip through the GIL, which cost more than the
statements themselves). SQLite admits one writer at a time, so each process has one writer
thread: its writes queue there, in order, rather than in SQLite's busy handler, which sleeps.
"""

import asyncio
import contextlib
import fcntl
import os
import queue
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, make_url
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from authgate.units import T, Work

READERS = 2
_Queued = tuple[Work[Any], "asyncio.Future[Any]"]


def tune(engine: Engine) -> None:
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
        # BEGIN IMMEDIATE waits. Readers stay deferred (WAL: they never wait for a writer).
        readonly = connection.get_execution_options().get("authgate_readonly")
        statement = "BEGIN" if readonly else "BEGIN IMMEDIATE"
        try:
            connection.connection.driver_connection.execute(statement)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


def create_engine(url: str) -> Engine:
    """A synchronous engine on the standard driver, tuned; `url` may name any SQLite driver."""
    memory = is_in_memory(url)
    engine = create_sync_engine(
        make_url(url).set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": 30, "check_same_thread": False},
        # An in-memory database exists once per connection: one connection serves all.
        **({"poolclass": StaticPool} if memory else {"pool_size": READERS + 1}),
        pool_reset_on_return=None,
    )
    tune(engine)
    return engine


def is_in_memory(url: str) -> bool:
    database = make_url(url).database
    return not database or database == ":memory:" or "mode=memory" in url


def is_writable(connection: Connection) -> bool:
    """Whether the main database file and its folder (journals, lock file) can be written."""
    for _, name, path in connection.exec_driver_sql("PRAGMA database_list"):
        if name == "main" and path:
            folder = os.path.dirname(os.path.abspath(path))
            return os.access(path, os.W_OK) and os.access(folder, os.W_OK)
    return True  # in memory


class SqliteThreads:
    """Units of work on a SQLite database, each run whole on a thread: one writer, a few
    readers (an in-memory database: the writer alone).

    Each thread keeps its connection for good (no pool check-out and check-in per unit)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        database = make_url(url).database
        in_memory = is_in_memory(url)
        lock = None if in_memory or not database else Path(f"{database}.lock")
        self._writer = _Writer(self.engine, 1, lock)
        reading = self.engine.execution_options(authgate_readonly=True)
        self._readers = None if in_memory else _Readers(reading, READERS)

    async def run(self, work: Work[T], *, readonly: bool) -> T:
        if readonly and self._readers is not None:
            return await self._readers.submit(work)
        return await self._writer.submit(work)

    def close(self) -> None:
        self._writer.close()
        if self._readers is not None:
            self._readers.close()
        self.engine.dispose()


class _Rounds:
    """Threads that take the units queued for them in rounds and answer each round's event
    loops in one wake-up each (a thread pool's future per unit cost more than a small read).
    A loop hands over the units of one of its iterations together, in one wake-up too."""

    MAX_ROUND = 64

    def __init__(self, engine: Engine, threads: int) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[list[_Queued] | None] = queue.SimpleQueue()
        self._batches: dict[asyncio.AbstractEventLoop, list[_Queued]] = {}
        self._threads = [
            threading.Thread(target=self._serve, name=f"authgate-db-{self.NAME}", daemon=True)
            for _ in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    NAME = "rounds"

    def submit(self, work: Work[T]) -> "asyncio.Future[T]":
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        batch = self._batches.get(loop)
        if batch is None:
            batch = self._batches[loop] = []
            loop.call_soon(self._hand_over, loop)
        batch.append((work, future))
        return future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        # The units a loop submitted in one iteration reach the threads in one queue item: one
        # wake-up and one round for all of them. A wake-up cost the loop ~28 µs and the thread
        # ~31 µs of CPU a refresh (perf); the bench, alternated runs: refresh 0.250x -> 0.277x.
        self._queue.put(self._batches.pop(loop))

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def _serve(self) -> None:
        connection: Connection | None = None
        try:
            while (first := self._queue.get()) is not None:
                queued = list(first)
                while len(queued) < self.MAX_ROUND:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:  # closing: finish this round first
                        self._queue.put(None)
                        break
                    queued.extend(item)
                works = [work for work, _ in queued]
                try:
                    if connection is None:
                        connection = self._engine.connect()
                    outcomes = self._round(connection, works)
                except Exception as exc:  # no connection (a missing folder, a full disk...)
                    outcomes = [(False, exc)] * len(works)
                _answer(queued, outcomes)
        finally:
            if connection is not None:
                connection.close()
            self._closed()

    def _round(self, connection: Connection, works: list[Work[Any]]) -> list[tuple[bool, Any]]:
        raise NotImplementedError

    def _closed(self) -> None:
        """Called by each thread as it stops."""


class _Readers(_Rounds):
    """Reader threads: a round's units share one read transaction (one snapshot)."""

    NAME = "read"

    def _round(self, connection: Connection, works: list[Work[Any]]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        with connection.begin():
            for work in works:
                try:
                    outcomes.append((True, work(connection)))
                except Exception as exc:
                    outcomes.append((False, exc))
        return outcomes


class _Writer(_Rounds):
    """The one writer thread of a SQLite file, committing the units queued meanwhile together.

    Under load, units queue while one runs. The next round takes them all and runs each in a
    savepoint of one transaction, with one COMMIT: appending to the write-ahead log is the
    costliest step of a small write, and a round pays it once. A unit that raises is rolled
    back to its savepoint alone and gets its exception; when the COMMIT fails, every unit of
    the round that had succeeded gets that error instead. A lone unit runs in a plain
    transaction.

    Writer threads of other processes on the same file wait for a round on a file lock
    (`<database>.lock`) rather than in SQLite's busy handler: the lock wakes a waiter the
    moment it is free, where the busy handler sleeps in growing steps (up to 100 ms each),
    which put the p99 of writes with two workers at seconds.
    """

    NAME = "write"

    def __init__(self, engine: Engine, threads: int, lock: Path | None) -> None:
        self._lock = lock
        self._fd: int | None = None
        super().__init__(engine, threads)

    def _round(self, connection: Connection, works: list[Work[Any]]) -> list[tuple[bool, Any]]:
        with self._locked():
            return self._savepoints(connection, works)

    def _closed(self) -> None:
        if self._fd is not None:
            os.close(self._fd)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._lock is None:
            yield
            return
        if self._fd is None:
            self._fd = os.open(self._lock, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    @staticmethod
    def _savepoints(connection: Connection, works: list[Work[Any]]) -> list[tuple[bool, Any]]:
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


def _answer(
    queued: list[tuple[Work[Any], "asyncio.Future[Any]"]], outcomes: list[tuple[bool, Any]]
) -> None:
    answers: dict[asyncio.AbstractEventLoop, list[Any]] = {}
    for (_, future), outcome in zip(queued, outcomes, strict=True):
        answers.setdefault(future.get_loop(), []).append((future, *outcome))
    for loop, settled in answers.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple["asyncio.Future[Any]", bool, Any]]) -> None:
    for future, ok, value in settled:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
