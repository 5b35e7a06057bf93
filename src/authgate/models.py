"""Every table, imported in one place so that Alembic and tests see the whole schema."""

from authgate.accounts.models import User
from authgate.audit.models import AuditEvent
from authgate.cors.models import CorsOrigin
from authgate.db import Base
from authgate.items.models import Item
from authgate.security.models import SigningKeyRow
from authgate.sessions.models import LoginSession, RefreshToken

__all__ = [
    "AuditEvent",
    "Base",
    "CorsOrigin",
    "Item",
    "LoginSession",
    "RefreshToken",
    "SigningKeyRow",
    "User",
]
