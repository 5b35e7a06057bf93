"""Units of work (`Database.read` / `Database.write`) and `Prepared` statements, on a real
database: values go in and come out exactly as Core statements (with the model's column types)
store and read them."""

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Connection, DateTime, bindparam, event, func, insert, select, text, update
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from authgate.accounts.models import User
from authgate.changes import announce, user_changed
from authgate.db import UTCDateTime
from authgate.sessions.models import LoginSession
from authgate.sqlite import SqliteThreads
from authgate.units import Prepared, Work, after_commit
from tests.bearer import create_account, set_user_flags, token_login
from tests.helpers import execute

SESSION = LoginSession.__table__
COLUMNS = ("id", "user_id", "kind", "secret_hash", "created_at", "last_seen_at", "expires_at",
           "ended_at", "user_agent", "ip")  # fmt: skip
ADD = Prepared(insert(SESSION), insert=COLUMNS)
BY_ID = Prepared(select(SESSION.c.id, SESSION.c.expires_at).where(SESSION.c.id == bindparam("k")))
END = Prepared(update(SESSION).where(SESSION.c.id == bindparam("k")).values(ended_at=func.now()))


async def make_user(app: FastAPI) -> int:
    statement = insert(User).values(username="pat", username_key="pat", password_hash="!")
    [(user_id,)] = await execute(app, statement.returning(User.id))
    return user_id


def row(user_id: int, at: datetime) -> dict[str, object]:
    return {"id": uuid.uuid4(), "user_id": user_id, "kind": "token", "secret_hash": None,
            "created_at": at, "last_seen_at": at, "expires_at": at + timedelta(hours=1),
            "ended_at": None, "user_agent": "ua", "ip": "127.0.0.1"}  # fmt: skip


@pytest.mark.parametrize("microsecond", [0, 123456])
async def test_prepared_values_round_trip_like_core_statements(
    app: FastAPI, microsecond: int
) -> None:
    db = app.state.db
    user_id = await make_user(app)
    at = datetime(2026, 11, 21, 8, 30, 5, microsecond, tzinfo=UTC)
    prepared, through_core = row(user_id, at), row(user_id, at)
    await db.write(lambda connection: ADD.run(connection, prepared))
    await db.write(lambda connection: connection.execute(insert(SESSION).values(**through_core)))
    found = await db.read(lambda connection: BY_ID.run(connection, {"k": prepared["id"]}))
    assert [(r.id, r.expires_at) for r in found] == [(prepared["id"], at + timedelta(hours=1))]
    assert found[0].expires_at.tzinfo is not None
    for key in (prepared["id"], through_core["id"]):
        loaded = await db.read(
            lambda connection, key=key: connection.execute(
                select(SESSION).where(SESSION.c.id == key)
            ).first()
        )
        assert loaded is not None and loaded.created_at == at and loaded.ended_at is None
        assert loaded.expires_at == at + timedelta(hours=1)
    # Stored alike, byte for byte: SQLite compares these as text.
    stored = await db.read(
        lambda connection: connection.execute(
            select(func.count(func.distinct(text("expires_at")))).select_from(SESSION)
        ).scalar_one()
    )
    assert stored == 1


async def test_prepared_without_columns_counts_rows(app: FastAPI) -> None:
    db, user_id = app.state.db, await make_user(app)
    values = row(user_id, datetime.now(UTC))
    await db.write(lambda connection: ADD.run(connection, values))
    assert await db.write(lambda connection: END.run(connection, {"k": values["id"]})) == 1
    assert await db.write(lambda connection: END.run(connection, {"k": uuid.uuid4()})) == 0
    assert await db.read(lambda connection: BY_ID.run(connection, {"k": uuid.uuid4()})) == []


async def test_a_unit_that_raises_is_rolled_back(app: FastAPI) -> None:
    db, user_id = app.state.db, await make_user(app)
    values = row(user_id, datetime.now(UTC))

    def work(connection) -> None:  # type: ignore[no-untyped-def]
        ADD.run(connection, values)
        raise LookupError("changed my mind")

    with pytest.raises(LookupError):
        await db.write(work)
    assert await db.read(lambda connection: BY_ID.run(connection, {"k": values["id"]})) == []


async def test_a_committed_change_is_published_even_when_an_after_commit_step_fails(
    app: FastAPI,
) -> None:
    """Other processes must hear of a committed change whatever happens to its log line."""
    db, user_id = app.state.db, await make_user(app)
    position = db.feed.position()

    def broken_log_line() -> None:
        raise OSError("the log is gone")

    def work(connection) -> None:  # type: ignore[no-untyped-def]
        announce(connection, user_changed(user_id))
        after_commit(connection, broken_log_line)

    with pytest.raises(OSError):
        await db.write(work)
    assert db.feed.read(position)[1] == [user_changed(user_id)]


async def test_a_refused_refresh_does_not_spend_the_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The token is spent and the session checked in one transaction: when the session check
    refuses, the rollback leaves the token as it was (no false 'reused' later)."""
    user = await create_account(client)
    pair = await token_login(client)

    async def set_active(active: bool) -> None:
        await set_user_flags(app, user["id"], is_active=active)

    await set_active(False)
    response = await client.post("/account/refresh", json={"refresh": pair["refresh"]})
    assert (response.status_code, response.json()["code"]) == (401, "token_revoked")
    await set_active(True)
    response = await client.post("/account/refresh", json={"refresh": pair["refresh"]})
    assert response.status_code == 200, response.json()
    assert response.json()["refresh"] != pair["refresh"]


async def test_concurrent_writes_each_keep_their_own_outcome(app: FastAPI) -> None:
    """Writes queued together may share a transaction (on SQLite, one COMMIT per round): each
    still commits or rolls back alone, and gets its own result or exception."""
    db, user_id = app.state.db, await make_user(app)
    rows = [row(user_id, datetime.now(UTC)) for _ in range(40)]

    def unit(values: dict[str, object], fail: bool):  # type: ignore[no-untyped-def]
        def work(connection):  # type: ignore[no-untyped-def]
            ADD.run(connection, values)
            if fail:
                raise LookupError(values["id"])
            return values["id"]

        return work

    outcomes = await asyncio.gather(
        *(db.write(unit(values, n % 3 == 0)) for n, values in enumerate(rows)),
        return_exceptions=True,
    )
    for n, (values, outcome) in enumerate(zip(rows, outcomes, strict=True)):
        if n % 3 == 0:
            assert isinstance(outcome, LookupError) and outcome.args == (values["id"],)
        else:
            assert outcome == values["id"]
    kept = {r.id for v in rows for r in await db.read(lambda c, v=v: BY_ID.run(c, {"k": v["id"]}))}
    assert kept == {values["id"] for n, values in enumerate(rows) if n % 3}


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 11, 30, 8, 11, 28, 324714, tzinfo=UTC),
        datetime(2026, 11, 30, 8, 11, 28, tzinfo=UTC),  # no microseconds: still written out
        datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=9))),  # Seoul: the day before
        datetime(999, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
    ],
)
def test_sqlite_datetimes_are_stored_as_sqlalchemy_stores_them(value: datetime) -> None:
    """UTCDateTime's fused SQLite processors write and read SQLAlchemy's own text form."""
    dialect = sqlite_dialect()
    ours = UTCDateTime().dialect_impl(dialect)
    theirs = DateTime().dialect_impl(dialect)
    naive = value.astimezone(UTC).replace(tzinfo=None)
    text_form = theirs.bind_processor(dialect)(naive)
    assert ours.bind_processor(dialect)(value) == text_form
    read = ours.result_processor(dialect, None)(text_form)
    assert read == value and read.tzinfo is UTC
    assert read == theirs.result_processor(dialect, None)(text_form).replace(tzinfo=UTC)
    with pytest.raises(ValueError):
        ours.bind_processor(dialect)(naive)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-30 08:11:28", datetime(2026, 11, 30, 8, 11, 28, tzinfo=UTC)),  # CURRENT_TIMESTAMP
        ("2026-11-30 17:11:28+09:00", datetime(2026, 11, 30, 8, 11, 28, tzinfo=UTC)),  # not ours
    ],
)
def test_sqlite_datetimes_written_by_others_are_read_as_utc(text: str, expected: datetime) -> None:
    dialect = sqlite_dialect()
    read = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)(text)
    assert read == expected and read.tzinfo is UTC


async def test_sqlite_writes_submitted_together_share_one_commit(tmp_path: Path) -> None:
    """Units that a loop submits in one iteration reach the writer thread together, however
    long the iteration: one round, one COMMIT, each unit in its own savepoint."""
    threads = SqliteThreads(f"sqlite:///{tmp_path / 'rounds.db'}")
    commits: list[object] = []
    event.listen(threads.engine, "commit", commits.append)

    def insert(n: int) -> Work[int]:
        def work(connection: Connection) -> int:
            connection.exec_driver_sql(f"INSERT INTO t VALUES ({n})")
            if n == 3:
                raise LookupError(n)
            return n

        return work

    try:
        await threads.run(lambda c: c.exec_driver_sql("CREATE TABLE t (n INTEGER)"), readonly=False)
        commits.clear()

        async def submit(n: int) -> int:
            time.sleep(0.005)  # the loop busy with other requests: the thread is free meanwhile
            return await threads.run(insert(n), readonly=False)

        outcomes = await asyncio.gather(*(submit(n) for n in range(6)), return_exceptions=True)
        assert len(commits) == 1
        assert outcomes[:3] == [0, 1, 2] and outcomes[4:] == [4, 5]
        assert isinstance(outcomes[3], LookupError)
        kept = await threads.run(
            lambda c: [n for (n,) in c.exec_driver_sql("SELECT n FROM t ORDER BY n")], readonly=True
        )
        assert kept == [0, 1, 2, 4, 5]
    finally:
        threads.close()
