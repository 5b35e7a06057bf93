"""The rules about users: registration, authentication, profile and password changes."""

from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authgate.accounts.models import User
from authgate.accounts.policy import check_password, email_key, is_comparable, username_key
from authgate.accounts.schemas import UserCreate, UserUpdate
from authgate.db import Database
from authgate.epochs import Epoch, Epochs
from authgate.errors import AppError, InvalidCredentials, NotFound
from authgate.security.passwords import PasswordHasher
from authgate.sessions.store import AuthUser
from authgate.units import Prepared

_USER = User.__table__
_SNAPSHOT = [_USER.c[name] for name in AuthUser.__slots__]
_INSERT = insert(_USER).returning(*_SNAPSHOT)
_BY_NAME = Prepared(
    select(*_SNAPSHOT, _USER.c.password_hash).where(_USER.c.username_key == bindparam("name_key"))
)
_NAME_TAKEN = select(_USER.c.id).where(_USER.c.username_key == bindparam("name_key"))
_EMAIL_TAKEN = select(_USER.c.id).where(_USER.c.email_key == bindparam("mail_key"))
_SET_HASH = (
    update(_USER).where(_USER.c.id == bindparam("user_id")).values(password_hash=bindparam("new"))
)


class UsernameTaken(AppError):
    status, code = 400, "username_taken"


class EmailTaken(AppError):
    status, code = 400, "email_taken"


class WrongPassword(AppError):
    """The current password given to confirm a change is wrong: 400, not 401, the caller is
    authenticated."""

    status, code = 400, "invalid_credentials"


async def register(
    db: Database,
    hasher: PasswordHasher,
    data: UserCreate,
    *,
    min_length: int,
    is_admin: bool = False,
) -> AuthUser:
    """Create a user; the unique constraints, not the pre-checks, decide races."""
    check_password(data.password, data.username, min_length)
    keys = {"name_key": username_key(data.username), "mail_key": email_key(data.email)}
    # The read ends before the slow hash, so no lock is held during it.
    await db.read(lambda connection: _ensure_free(connection, keys))
    row = {
        "username": data.username,
        "username_key": keys["name_key"],
        "email": data.email,
        "email_key": keys["mail_key"],
        "first_name": data.first_name,
        "last_name": data.last_name,
        "password_hash": await hasher.hash(data.password),
        "is_admin": is_admin,
    }
    try:
        created = await db.write(lambda connection: connection.execute(_INSERT, row).one())
    except IntegrityError as exc:
        raise EmailTaken() if "email_key" in str(exc.orig) else UsernameTaken() from None
    return AuthUser.of(created)


def _ensure_free(connection: Connection, keys: dict[str, str | None]) -> None:
    if connection.execute(_NAME_TAKEN, keys).first() is not None:
        raise UsernameTaken()
    if keys["mail_key"] and connection.execute(_EMAIL_TAKEN, keys).first() is not None:
        raise EmailTaken()


async def authenticate(
    db: Database, hasher: PasswordHasher, username: str, password: str
) -> AuthUser:
    """The active user with these credentials, or InvalidCredentials, in about the same time."""
    found: Any = None
    # A name no user can have (NUL, control characters...) is not looked up, but still costs a
    # verify below: PostgreSQL would refuse some of them, and timing must not differ.
    if is_comparable(username):
        name_key = username_key(username)
        rows = await db.read(lambda connection: _BY_NAME.run(connection, {"name_key": name_key}))
        found = rows[0] if rows else None
    matches, new_hash = await hasher.verify(password, found.password_hash if found else None)
    if found is None or not matches or not found.is_active:
        raise InvalidCredentials()
    if new_hash is not None:
        # A legacy bcrypt or pbkdf2 hash, or weaker Argon2 parameters: upgrade it now.
        change = {"user_id": found.id, "new": new_hash}
        await db.write(lambda connection: connection.execute(_SET_HASH, change))
    return AuthUser.of(found)


async def change_password(
    db: AsyncSession, hasher: PasswordHasher, user: User, old: str, new: str, *, min_length: int
) -> None:
    matches, _ = await hasher.verify(old, user.password_hash)
    if not matches:
        raise WrongPassword()
    check_password(new, user.username, min_length)
    user.password_hash = await hasher.hash(new)
    db.add(user)
    await db.commit()


async def update_profile(db: AsyncSession, epochs: Epochs, user_id: int, data: UserUpdate) -> User:
    """Change the fields present in `data`; a new e-mail address is no longer verified."""
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound()
    changes = data.model_dump(exclude_unset=True)
    if "email" in changes:
        if email_key(changes["email"]) != user.email_key:
            user.email_verified = False
        user.email, user.email_key = changes["email"], email_key(changes["email"])
    for name in ("first_name", "last_name"):
        if name in changes:
            setattr(user, name, changes[name] or "")
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        raise EmailTaken() from None
    # Cached session states hold a snapshot of the user: let every worker reload it.
    epochs.bump(Epoch.AUTH)
    return user


async def delete_user(db: AsyncSession, epochs: Epochs, user_id: int) -> None:
    """Delete a user; the database cascades to their sessions, refresh tokens and items."""
    result = await db.execute(delete(User).where(User.id == user_id))
    await db.commit()
    if not result.rowcount:
        raise NotFound()
    # The sessions are gone: no worker may keep honouring their cached states.
    epochs.bump(Epoch.AUTH)
