"""The rules about users: registration, authentication, profile and password changes."""

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authgate.accounts.models import User
from authgate.accounts.policy import check_password, email_key, is_comparable, username_key
from authgate.accounts.schemas import UserCreate, UserUpdate
from authgate.epochs import Epoch, Epochs
from authgate.errors import AppError, InvalidCredentials, NotFound
from authgate.security.passwords import PasswordHasher


class UsernameTaken(AppError):
    status, code = 400, "username_taken"


class EmailTaken(AppError):
    status, code = 400, "email_taken"


class WrongPassword(AppError):
    """The current password given to confirm a change is wrong: 400, not 401, the caller is
    authenticated."""

    status, code = 400, "invalid_credentials"


async def register(
    db: AsyncSession, hasher: PasswordHasher, data: UserCreate, *, min_length: int
) -> User:
    """Create a user; the unique constraints, not the pre-checks, decide races."""
    check_password(data.password, data.username, min_length)
    await _ensure_free(db, username_key(data.username), email_key(data.email))
    await db.commit()  # end the read before the slow hash, so no lock is held during it
    user = User(
        username=data.username,
        username_key=username_key(data.username),
        email=data.email,
        email_key=email_key(data.email),
        first_name=data.first_name,
        last_name=data.last_name,
        password_hash=await hasher.hash(data.password),
    )
    db.add(user)
    try:
        await db.commit()
    except IntegrityError as exc:
        await db.rollback()
        raise EmailTaken() if "email_key" in str(exc.orig) else UsernameTaken() from None
    return user


async def _ensure_free(db: AsyncSession, name_key: str, mail_key: str | None) -> None:
    if await db.scalar(select(User.id).where(User.username_key == name_key)) is not None:
        raise UsernameTaken()
    if mail_key and await db.scalar(select(User.id).where(User.email_key == mail_key)):
        raise EmailTaken()


async def authenticate(
    db: AsyncSession, hasher: PasswordHasher, username: str, password: str
) -> User:
    """The active user with these credentials, or InvalidCredentials, in about the same time."""
    user = None
    # A name no user can have (NUL, control characters...) is not looked up, but still costs a
    # verify below: PostgreSQL would refuse some of them, and timing must not differ.
    if is_comparable(username):
        user = await db.scalar(select(User).where(User.username_key == username_key(username)))
        await db.commit()  # release the connection's read before hashing
    matches, new_hash = await hasher.verify(password, user.password_hash if user else None)
    if user is None or not matches or not user.is_active:
        raise InvalidCredentials()
    if new_hash is not None:
        # A legacy bcrypt or pbkdf2 hash, or weaker Argon2 parameters: upgrade it now.
        user.password_hash = new_hash
        db.add(user)
        await db.commit()
    return user


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
