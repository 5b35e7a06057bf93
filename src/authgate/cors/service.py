"""The run-time origins: listing, adding and removing them (the CORS epoch announces changes)."""

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authgate.cors.models import CorsOrigin
from authgate.cors.origin import normalise_origin
from authgate.epochs import Epoch, Epochs
from authgate.errors import NotFound


async def list_origins(db: AsyncSession) -> list[str]:
    return list(await db.scalars(select(CorsOrigin.origin).order_by(CorsOrigin.origin)))


async def add_origin(
    db: AsyncSession, epochs: Epochs, origin: str, now: datetime
) -> tuple[CorsOrigin, bool]:
    """Allow `origin` (ValueError when it is not one); returns the row and whether it is new."""
    origin = normalise_origin(origin)
    found = await db.get(CorsOrigin, origin)
    if found is not None:
        return found, False
    row = CorsOrigin(origin=origin, created_at=now)
    db.add(row)
    try:
        await db.commit()
    except IntegrityError:
        # Added by someone else since we looked: adding is idempotent, so that is success.
        await db.rollback()
        return await _existing(db, origin), False
    epochs.bump(Epoch.CORS)
    return row, True


async def remove_origin(db: AsyncSession, epochs: Epochs, origin: str) -> None:
    """Stop allowing `origin`; NotFound when it was not a run-time origin."""
    origin = normalise_origin(origin)
    result = await db.execute(delete(CorsOrigin).where(CorsOrigin.origin == origin))
    await db.commit()
    if not result.rowcount:
        raise NotFound()
    epochs.bump(Epoch.CORS)


async def _existing(db: AsyncSession, origin: str) -> CorsOrigin:
    found = await db.get(CorsOrigin, origin)
    if found is None:  # added and removed again in between: vanishingly rare
        raise NotFound()
    return found
