"""OriginRegistry: settings, regex and run-time origins; reloads follow the change feed."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from authgate.changes import ORIGINS_CHANGED
from authgate.cors import service
from authgate.cors.registry import OriginRegistry
from authgate.db import Database, utcnow
from authgate.errors import ServiceUnavailable
from authgate.hostfeed import HostFeed
from authgate.settings import Settings


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    feed = HostFeed(settings.data_dir)
    database = Database(settings.effective_database_url, feed)
    yield database
    await database.dispose()
    feed.close()


async def add(db: Database, origin: str) -> None:
    await db.write(lambda c: service.add_origin(c, origin, utcnow()))


async def test_static_and_regex_origins(make_settings, db) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(
        cors_origins="https://App.example:443, http://localhost:3000",
        cors_origin_regex=r"https://.*\.preview\.example",
    )
    registry = OriginRegistry(settings, db)
    assert registry.static == ("https://app.example", "http://localhost:3000")
    assert registry.is_allowed("https://app.example")
    assert registry.is_allowed("http://localhost:3000")
    assert registry.is_allowed("https://pr-12.preview.example")
    assert not registry.is_allowed("https://preview.example")
    assert not registry.is_allowed("http://localhost:3001")
    assert not registry.allow_all


async def test_refresh_reloads_only_when_the_feed_says_the_origins_changed(settings, db) -> None:  # type: ignore[no-untyped-def]
    registry = OriginRegistry(settings, db)
    assert await registry.refresh()
    assert not await registry.refresh()
    await add(db, "http://localhost:5173")
    assert not registry.is_allowed("http://localhost:5173")  # memory only, until reloaded
    assert await registry.refresh()
    assert registry.is_allowed("http://localhost:5173")
    assert registry.dynamic == frozenset({"http://localhost:5173"})


async def test_the_watcher_follows_changes_made_elsewhere(settings, db) -> None:  # type: ignore[no-untyped-def]
    registry = OriginRegistry(settings, db, interval=0.01)
    await registry.start()
    try:
        # Another process (here: another Database and HostFeed on the same files) adds one.
        other_feed = HostFeed(settings.data_dir)
        other_db = Database(db.url, other_feed)
        await add(other_db, "https://late.example")
        await other_db.dispose()
        other_feed.close()
        async with asyncio.timeout(10):
            while not registry.is_allowed("https://late.example"):
                await asyncio.sleep(0.01)
    finally:
        await registry.stop()


async def test_an_unreachable_database_keeps_the_last_known_origins(settings, db) -> None:  # type: ignore[no-untyped-def]
    await add(db, "https://kept.example")
    registry = OriginRegistry(settings, db, interval=0.01)
    await registry.start()
    await registry.stop()
    assert registry.is_allowed("https://kept.example")
    # The table is gone (as from a deleted database file: "no such table: cors_origin").
    await db.write(lambda c: c.exec_driver_sql("DROP TABLE cors_origin"))
    await db.feed.publish([ORIGINS_CHANGED])
    await registry.start()  # the failed reload is logged, not raised
    await registry.stop()
    assert registry.is_allowed("https://kept.example")
    with pytest.raises(ServiceUnavailable) as failed:
        await registry.refresh()
    assert "cors_origin" in str(failed.value.__cause__)
