"""`authgate cors add|list|remove`: the run-time origins from the command line.

They write the same table as the admin routes and bump the same epoch, so running servers on
this host honour the change within their next check, without a restart.
"""

from authgate.cors import service
from authgate.db import Database, utcnow
from authgate.epochs import Epochs
from authgate.settings import Settings


async def add(settings: Settings, origin: str) -> tuple[str, bool]:
    """Allow `origin`; returns it normalised and whether it is new (ValueError: not an origin)."""
    db, epochs = Database(settings.effective_database_url), Epochs(settings.data_dir)
    try:
        async with db.writer() as session:
            row, created = await service.add_origin(session, epochs, origin, utcnow())
            return row.origin, created
    finally:
        epochs.close()
        await db.dispose()


async def remove(settings: Settings, origin: str) -> None:
    """Stop allowing `origin` (NotFound when it is not a run-time origin)."""
    db, epochs = Database(settings.effective_database_url), Epochs(settings.data_dir)
    try:
        async with db.writer() as session:
            await service.remove_origin(session, epochs, origin)
    finally:
        epochs.close()
        await db.dispose()


async def dynamic(settings: Settings) -> list[str]:
    db = Database(settings.effective_database_url)
    try:
        async with db.reader() as session:
            return await service.list_origins(session)
    finally:
        await db.dispose()
