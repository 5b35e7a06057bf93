"""OriginRegistry: settings, regex and run-time origins; reloads follow the CORS epoch."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from authgate.cors import service
from authgate.cors.registry import OriginRegistry
from authgate.db import Database, utcnow
from authgate.epochs import Epoch, Epochs
from authgate.settings import Settings


@pytest.fixture
async def parts(settings: Settings) -> AsyncIterator[tuple[Database, Epochs]]:
    db, epochs = Database(settings.effective_database_url), Epochs(settings.data_dir)
    yield db, epochs
    await db.dispose()
    epochs.close()


async def add(db: Database, epochs: Epochs, origin: str) -> None:
    async with db.writer() as session:
        await service.add_origin(session, epochs, origin, utcnow())


async def test_static_and_regex_origins(make_settings, parts) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(
        cors_origins="https://App.example:443, http://localhost:3000",
        cors_origin_regex=r"https://.*\.preview\.example",
    )
    registry = OriginRegistry(settings, *parts)
    assert registry.static == ("https://app.example", "http://localhost:3000")
    assert registry.is_allowed("https://app.example")
    assert registry.is_allowed("http://localhost:3000")
    assert registry.is_allowed("https://pr-12.preview.example")
    assert not registry.is_allowed("https://preview.example")
    assert not registry.is_allowed("http://localhost:3001")
    assert not registry.allow_all


async def test_refresh_reloads_only_when_the_epoch_moved(settings, parts) -> None:  # type: ignore[no-untyped-def]
    db, epochs = parts
    registry = OriginRegistry(settings, db, epochs)
    assert await registry.refresh()
    assert not await registry.refresh()
    await add(db, epochs, "http://localhost:5173")
    assert not registry.is_allowed("http://localhost:5173")  # memory only, until reloaded
    assert await registry.refresh()
    assert registry.is_allowed("http://localhost:5173")
    assert registry.dynamic == frozenset({"http://localhost:5173"})


async def test_the_watcher_follows_changes_made_elsewhere(settings, parts) -> None:  # type: ignore[no-untyped-def]
    db, epochs = parts
    registry = OriginRegistry(settings, db, epochs, interval=0.01)
    await registry.start()
    try:
        # Another process (here: another Database and Epochs on the same files) adds one.
        other_db, other_epochs = Database(db.url), Epochs(settings.data_dir)
        await add(other_db, other_epochs, "https://late.example")
        await other_db.dispose()
        other_epochs.close()
        async with asyncio.timeout(10):
            while not registry.is_allowed("https://late.example"):
                await asyncio.sleep(0.01)
    finally:
        await registry.stop()


async def test_an_unreachable_database_keeps_the_last_known_origins(settings, parts) -> None:  # type: ignore[no-untyped-def]
    db, epochs = parts
    await add(db, epochs, "https://kept.example")
    registry = OriginRegistry(settings, db, epochs, interval=0.01)
    await registry.start()
    await registry.stop()
    assert registry.is_allowed("https://kept.example")
    await db.dispose()
    for suffix in ("", "-wal", "-shm"):
        (settings.data_dir / f"authgate.db{suffix}").unlink(missing_ok=True)
    epochs.bump(Epoch.CORS)
    await registry.start()  # the failed reload is logged, not raised
    await registry.stop()
    assert registry.is_allowed("https://kept.example")
    with pytest.raises(Exception, match="cors_origin"):
        await registry.refresh()
