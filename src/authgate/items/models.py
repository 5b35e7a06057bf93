"""The items table: the seed's upsert resource, now owned and persistent."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from authgate.db import Base, UTCDateTime, utcnow


class Item(Base):
    __tablename__ = "item"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A fresh random revision on every write: the strong ETag, and the compare-and-set key
    # that keeps concurrent writers from losing each other's updates.
    revision: Mapped[str] = mapped_column(String(32))
