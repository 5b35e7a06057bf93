"""The run-time origins: listing, adding and removing them (announced on the change feed)."""

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.exc import IntegrityError

from authgate.changes import ORIGINS_CHANGED, announce
from authgate.cors.models import CorsOrigin
from authgate.errors import NotFound
from authgate.origin import normalise_origin

ORIGIN = CorsOrigin.__table__


def list_origins(connection: Connection) -> list[str]:
    return list(connection.scalars(select(ORIGIN.c.origin).order_by(ORIGIN.c.origin)))


def add_origin(connection: Connection, origin: str, now: datetime) -> tuple[Any, bool]:
    """Allow `origin` (ValueError when it is not one); returns the row and whether it is new."""
    origin = normalise_origin(origin)
    found = _find(connection, origin)
    if found is not None:
        return found, False
    try:
        with connection.begin_nested():
            connection.execute(ORIGIN.insert().values(origin=origin, created_at=now))
    except IntegrityError:
        # Added by someone else since we looked: adding is idempotent, so that is success.
        return _find(connection, origin), False
    announce(connection, ORIGINS_CHANGED)
    return _find(connection, origin), True


def remove_origin(connection: Connection, origin: str) -> None:
    """Stop allowing `origin`; NotFound when it was not a run-time origin."""
    origin = normalise_origin(origin)
    if not connection.execute(delete(ORIGIN).where(ORIGIN.c.origin == origin)).rowcount:
        raise NotFound()
    announce(connection, ORIGINS_CHANGED)


def _find(connection: Connection, origin: str) -> Any:
    return connection.execute(select(ORIGIN).where(ORIGIN.c.origin == origin)).first()
