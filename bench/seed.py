"""Users by the million in seconds: rows inserted directly, every one with the same Argon2 hash.

Going through /signup would cost one Argon2 hash per user (hours for a million), and the hash
is not what is measured here: log-in verifies one stored hash whatever the table's size. So one
hash of BENCH_PASSWORD is computed with the server's own (default) parameters, and reused.
"""

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from pwdlib.hashers.argon2 import Argon2Hasher

from bench.databases import Target

PASSWORD = "bench-Pa55word-9f3c"
BATCH = 50_000
COLUMNS = (
    "username", "username_key", "email", "email_key", "first_name", "last_name",
    "password_hash", "is_active", "is_admin", "email_verified", "date_joined",
)  # fmt: skip


def password_hash(params: dict[str, int]) -> str:
    return Argon2Hasher(**params).hash(PASSWORD)


def seed_users(target: Target, first: int, last: int, hashed: str) -> float:
    """Insert users `user<first>` .. `user<last>`; returns the seconds it took."""
    started = time.perf_counter()
    if target.kind == "sqlite":
        _seed_sqlite(target.sqlite_path, first, last, hashed)
    else:
        asyncio.run(_seed_postgres(target.admin_dsn(target.database), first, last, hashed))
    return time.perf_counter() - started


def _batches(first: int, last: int, hashed: str, joined: object) -> Iterator[list[tuple]]:
    for start in range(first, last + 1, BATCH):
        yield [
            (
                f"user{i}",
                f"user{i}",
                f"user{i}@bench.example",
                f"user{i}@bench.example",
                "",
                "",
                hashed,
                True,
                False,
                False,
                joined,
            )
            for i in range(start, min(start + BATCH, last + 1))
        ]


def _seed_sqlite(path: Path, first: int, last: int, hashed: str) -> None:
    # The format SQLAlchemy stores naive UTC datetimes in on SQLite.
    joined = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    insert = f'INSERT INTO "user" ({", ".join(COLUMNS)}) VALUES ({", ".join("?" * len(COLUMNS))})'
    connection = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        for rows in _batches(first, last, hashed, joined):
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(insert, rows)
            connection.execute("COMMIT")
        # Fold the WAL back into the database, so that readers do not wade through it.
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("ANALYZE")
    finally:
        connection.close()


async def _seed_postgres(dsn: str, first: int, last: int, hashed: str) -> None:
    import asyncpg

    joined = datetime.now(UTC)
    placeholders = ", ".join(f"${n}" for n in range(1, len(COLUMNS) + 1))
    insert = f'INSERT INTO "user" ({", ".join(COLUMNS)}) VALUES ({placeholders})'
    connection = await asyncpg.connect(dsn)
    try:
        for rows in _batches(first, last, hashed, joined):
            async with connection.transaction():
                await connection.executemany(insert, rows)
        await connection.execute('ANALYZE "user"')
    finally:
        await connection.close()
