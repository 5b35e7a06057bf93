"""Reading the audit trail back in tests, and the request headers events should carry."""

from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from authgate.audit.models import AuditEvent

AGENT = "audit-test-agent/1.0"


def headers(request_id: str, **extra: str) -> dict[str, str]:
    return {"User-Agent": AGENT, "X-Request-ID": request_id, **extra}


async def stored(app: FastAPI, **where: Any) -> list[Any]:
    """Every stored event (queued ones written first), oldest first, filtered by columns."""
    await app.state.audit.flush()
    table = AuditEvent.__table__
    statement = select(table).order_by(table.c.id)
    for name, value in where.items():
        statement = statement.where(table.c[name] == value)
    return await app.state.db.read(lambda c: list(c.execute(statement)))


async def types(app: FastAPI, **where: Any) -> list[str]:
    return [row.type for row in await stored(app, **where)]
