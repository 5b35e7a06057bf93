"""Creating the first administrator from the command line."""

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from authgate.accounts import service as accounts
from authgate.accounts.schemas import UserCreate
from authgate.db import Database
from authgate.errors import AppError
from authgate.i18n import translate
from authgate.security.passwords import PasswordHasher
from authgate.settings import Settings


async def create_admin_user(
    settings: Settings, username: str, password: str, email: str | None
) -> int:
    """Register `username` as an admin; ValueError with a readable reason when refused."""
    try:
        data = UserCreate(username=username, password=password, email=email)
    except ValidationError as exc:
        raise ValueError("; ".join(e["msg"] for e in exc.errors())) from None
    db, hasher = Database(settings.effective_database_url), PasswordHasher(settings)
    try:
        user = await accounts.register(
            db, hasher, data, min_length=settings.password_min_length, is_admin=True
        )
        return user.id
    except (AppError, RequestValidationError) as exc:
        detail = exc.detail("en") if isinstance(exc, AppError) else str(exc)
        raise ValueError(detail or translate("validation_error", "en")) from None
    finally:
        hasher.close()
        await db.dispose()
