"""Every table, imported in one place so that Alembic and tests see the whole schema."""

from authgate.accounts.models import User
from authgate.audit.models import AuditEvent
from authgate.cors.models import CorsOrigin
from authgate.db import Base
from authgate.items.models import Item
from authgate.mail.models import OutboxMail
from authgate.mfa.models import MfaChallenge, RecoveryCode, TotpFactor
from authgate.passkeys.models import Passkey, WebauthnChallenge
from authgate.recovery.models import OneTimeToken
from authgate.security.models import SigningKeyRow
from authgate.sessions.models import LoginSession, RefreshToken, RevokedRefreshToken

__all__ = [
    "AuditEvent",
    "Base",
    "CorsOrigin",
    "Item",
    "LoginSession",
    "MfaChallenge",
    "OneTimeToken",
    "OutboxMail",
    "Passkey",
    "RecoveryCode",
    "RefreshToken",
    "RevokedRefreshToken",
    "SigningKeyRow",
    "TotpFactor",
    "User",
    "WebauthnChallenge",
]
