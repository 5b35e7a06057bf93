"""authgate: accounts, log-in sessions and tokens for web, mobile and server clients."""

from authgate.accounts.snapshot import AuthUser
from authgate.app import create_app
from authgate.sessions.dependencies import current_admin, current_session, current_user
from authgate.settings import Settings

__all__ = ["AuthUser", "Settings", "create_app", "current_admin", "current_session", "current_user"]
