"""Shared fixtures: a fresh migrated SQLite database per test, an app, an HTTP client, a clock."""

import logging
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from authgate import Settings, create_app
from authgate.migrate import upgrade

IN_CI = os.environ.get("CI", "").lower() == "true"
# Cheap Argon2 parameters keep the suite fast; the defaults are exercised by the bench.
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_cost": 1024, "argon2_parallelism": 1}
TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


class Clock:
    """An injectable clock: starts at the real time and moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once per run; each test gets its own copy."""
    folder = tmp_path_factory.mktemp("template")
    upgrade(Settings(data_dir=folder, secret_key=TEST_SECRET))
    return folder / "authgate.db"


@pytest.fixture
def make_settings(tmp_path: Path, template_db: Path):  # type: ignore[no-untyped-def]
    """Build Settings for a fresh data folder holding a copy of the migrated database."""

    def build(**overrides: object) -> Settings:
        data_dir = tmp_path / "data"
        data_dir.mkdir(exist_ok=True)
        if not (data_dir / "authgate.db").exists():
            shutil.copy(template_db, data_dir / "authgate.db")
        values = {"data_dir": data_dir, "secret_key": TEST_SECRET, **FAST_HASHING}
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return build


@pytest.fixture
def settings(make_settings) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(rate_limit_enabled=False)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    application.state.clock = clock
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def new_client(app: FastAPI):  # type: ignore[no-untyped-def]
    """Another browser: a client with its own cookie jar, on the same app."""
    opened: list[httpx.AsyncClient] = []

    def build() -> httpx.AsyncClient:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        opened.append(c)
        return c

    yield build
    for c in opened:
        await c.aclose()


@pytest.fixture
def restore_root_logging():  # type: ignore[no-untyped-def]
    """Undo `authgate.logs.configure_logging` (which `authgate serve` runs once a process)."""
    root = logging.getLogger()
    handlers, level, srcfile = list(root.handlers), root.level, logging._srcfile
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging._srcfile = srcfile
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = True
