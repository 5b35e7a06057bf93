"""Where a run keeps its data: a SQLite file in its work folder, or a throwaway PostgreSQL
database."""

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path

PG_SERVER = "postgres@127.0.0.1:5432"


@dataclass
class Target:
    kind: str  # "sqlite" | "postgresql"
    data_dir: Path
    pg_server: str = PG_SERVER
    database: str = field(default="")
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "authgate.db"

    def admin_dsn(self, database: str) -> str:
        return f"postgresql://{self.pg_server}/{database}"

    def server_env(self) -> dict[str, str]:
        env = {"AUTHGATE_DATA_DIR": str(self.data_dir)}
        if self.kind == "postgresql":
            env["AUTHGATE_DATABASE_URL"] = f"postgresql+asyncpg://{self.pg_server}/{self.database}"
            # PostgreSQL means instances on several hosts may share it: the secret is explicit.
            env["AUTHGATE_SECRET_KEY"] = self.secret
        return env

    def create(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.kind == "postgresql":
            self.database = f"authgate_bench_{secrets.token_hex(4)}"
            asyncio.run(self._admin(f'CREATE DATABASE "{self.database}"'))

    def drop(self) -> None:
        if self.kind == "postgresql" and self.database:
            asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            self.database = ""

    def server_version(self) -> str:
        if self.kind == "sqlite":
            import sqlite3

            return f"SQLite {sqlite3.sqlite_version}"
        version = asyncio.run(self._admin("SHOW server_version", fetch=True))
        return f"PostgreSQL {version.split()[0]}"

    async def _admin(self, statement: str, *, fetch: bool = False) -> str:
        import asyncpg

        connection = await asyncpg.connect(self.admin_dsn("postgres"))
        try:
            if fetch:
                return str(await connection.fetchval(statement))
            await connection.execute(statement)
            return ""
        finally:
            await connection.close()
