"""Pydantic shapes of the audit routes."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class EventRead(BaseModel):
    id: str
    at: datetime
    type: str
    user_id: int | None
    session_id: str | None
    ip: str | None
    user_agent: str
    request_id: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, row: Any) -> "EventRead":
        return cls(
            id=str(row.id),
            at=row.at,
            type=row.type,
            user_id=row.user_id,
            session_id=None if row.session_id is None else str(row.session_id),
            ip=row.ip,
            user_agent=row.user_agent,
            request_id=row.request_id,
            detail=row.detail or {},
        )


class EventList(BaseModel):
    events: list[EventRead]
    next: str | None
