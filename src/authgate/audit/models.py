"""The audit_event table: one row per security event."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from authgate.db import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_event"
    # AUTOINCREMENT: ids grow and are never reused, so they order events and page them.
    __table_args__ = (
        Index("ix_audit_event_user_id_id", "user_id", "id"),
        Index("ix_audit_event_type_id", "type", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    type: Mapped[str] = mapped_column(String(40))
    # No foreign key: an account's history outlives the account (and its id is never reused).
    user_id: Mapped[int | None] = mapped_column(Integer)
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(512))
    request_id: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
