"""Creating the first administrator from the command line."""

from pydantic import ValidationError

from authgate.accounts import service as accounts
from authgate.accounts.schemas import UserCreate
from authgate.db import Database
from authgate.errors import AppError
from authgate.i18n import translate
from authgate.security.passwords import PasswordHasher


async def create_admin_user(
    db: Database, hasher: PasswordHasher, min_length: int,
    username: str, password: str, email: str | None,
) -> int:  # fmt: skip
    """Register `username` as an admin; ValueError with a readable reason when refused."""
    try:
        data = UserCreate(username=username, password=password, email=email)
    except ValidationError as exc:
        raise ValueError("; ".join(e["msg"] for e in exc.errors())) from None
    try:
        user = await accounts.register(db, hasher, data, min_length=min_length, is_admin=True)
        return user.id
    except AppError as exc:
        raise ValueError(exc.detail("en") or translate("validation_error", "en")) from None
