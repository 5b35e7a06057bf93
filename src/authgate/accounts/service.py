"""The rules about users: registration, authentication, profile and password changes, deletion.

Units of work (functions of a `Connection`) and the async steps around them that must stay out
of a transaction (hashing a password takes tens of milliseconds: no lock is held meanwhile).
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from authgate.accounts.errors import EmailTaken, LoginRefused, UsernameTaken, WrongPassword
from authgate.accounts.models import User
from authgate.accounts.policy import check_password, email_key, is_comparable, username_key
from authgate.accounts.schemas import UserCreate, UserUpdate
from authgate.accounts.snapshot import AuthUser
from authgate.audit import service as audit
from authgate.audit.events import NO_CONTEXT, EventContext, EventType
from authgate.changes import announce, user_changed
from authgate.db import Database, utcnow
from authgate.errors import Forbidden, NotFound, TokenRevoked
from authgate.security.passwords import PasswordHasher
from authgate.units import Prepared

USER = User.__table__
SNAPSHOT = [USER.c[name] for name in AuthUser.__slots__]
_INSERT = Prepared(
    insert(USER).returning(*SNAPSHOT),
    insert=(
        "username", "username_key", "email", "email_key", "first_name", "last_name",
        "password_hash", "is_active", "is_admin", "email_verified", "date_joined",
    ),
)  # fmt: skip
_BY_NAME = Prepared(
    select(*SNAPSHOT, USER.c.password_hash).where(USER.c.username_key == bindparam("name_key"))
)
_BY_ID = select(*SNAPSHOT, USER.c.password_hash, USER.c.email_key).where(
    USER.c.id == bindparam("user_id")
)
_NAME_TAKEN = Prepared(select(USER.c.id).where(USER.c.username_key == bindparam("name_key")))
_EMAIL_TAKEN = Prepared(select(USER.c.id).where(USER.c.email_key == bindparam("mail_key")))
_SET_HASH = (
    update(USER).where(USER.c.id == bindparam("user_id")).values(password_hash=bindparam("new"))
)


async def register(
    db: Database,
    hasher: PasswordHasher,
    data: UserCreate,
    *,
    min_length: int,
    is_admin: bool = False,
    context: EventContext = NO_CONTEXT,
    then: Callable[[Connection, int], object] | None = None,
) -> AuthUser:
    """Create a user; the unique constraints decide whether a name or address is free.

    No read before the hash: a taken name costs the hash that a fresh one costs (so a
    sign-up's time does not tell which it was), and every other sign-up saves a read and its
    thread hop. `then(connection, user_id)` runs in the same unit, once the user exists (a
    sign-up's first session, its verification mail): all happen, or none."""
    check_password(data.password, data.username, min_length)
    keys = {"name_key": username_key(data.username), "mail_key": email_key(data.email)}
    row = {
        "username": data.username,
        "username_key": keys["name_key"],
        "email": data.email,
        "email_key": keys["mail_key"],
        "first_name": data.first_name,
        "last_name": data.last_name,
        "password_hash": await hasher.hash(data.password),
        "is_active": True,
        "is_admin": is_admin,
        "email_verified": False,
        "date_joined": utcnow(),
    }

    def insert(connection: Connection) -> Any:
        try:
            (created,) = _INSERT.run(connection, row)
        except connection.dialect.loaded_dbapi.IntegrityError as exc:
            raise EmailTaken() if "email_key" in str(exc) else UsernameTaken() from None
        audit.record(
            connection, EventType.SIGNUP, context,
            user_id=created.id, username=data.username, is_admin=is_admin,
        )  # fmt: skip
        if then is not None:
            then(connection, created.id)
        return created

    try:
        return AuthUser.of(await db.write(insert))
    except (UsernameTaken, EmailTaken):
        # The driver names one constraint; when both are taken, the answer names the username,
        # as the form reads. The read happens only here, after the refused INSERT.
        await db.read(lambda connection: _ensure_free(connection, keys))
        raise


def _ensure_free(connection: Connection, keys: dict[str, str | None]) -> None:
    if _NAME_TAKEN.run(connection, keys):
        raise UsernameTaken()
    if keys["mail_key"] and _EMAIL_TAKEN.run(connection, keys):
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
    if found is None:
        raise LoginRefused(None, "unknown_user")
    if not matches:
        raise LoginRefused(found.id, "wrong_password")
    if not found.is_active:
        raise LoginRefused(found.id, "inactive")
    if new_hash is not None:
        # A legacy bcrypt or pbkdf2 hash, or weaker Argon2 parameters: upgrade it now.
        change = {"user_id": found.id, "new": new_hash}
        await db.write(lambda connection: connection.execute(_SET_HASH, change))
    return AuthUser.of(found)


def get_user(connection: Connection, user_id: int) -> Any:
    """The user's row (snapshot columns, password hash, e-mail key); TokenRevoked when gone."""
    row = connection.execute(_BY_ID, {"user_id": user_id}).first()
    if row is None:
        raise TokenRevoked()  # deleted while their session was still being checked
    return row


async def new_password_hash(
    db: Database, hasher: PasswordHasher, user_id: int, old: str, new: str, *, min_length: int
) -> tuple[str, str]:
    """Check `old` against the stored hash and `new` against the policy: (old hash, new hash).

    The slow part of a password change, outside any transaction; `set_password_hash` then
    applies it, refusing if the password changed meanwhile."""
    user = await db.read(lambda connection: get_user(connection, user_id))
    matches, _ = await hasher.verify(old, user.password_hash)
    if not matches:
        raise WrongPassword()
    check_password(new, user.username, min_length)
    return user.password_hash, await hasher.hash(new)


def set_password_hash(connection: Connection, user_id: int, old_hash: str, new_hash: str) -> None:
    """Replace the password hash, if it is still `old_hash` (compare and set)."""
    result = connection.execute(
        update(USER)
        .where(USER.c.id == user_id, USER.c.password_hash == old_hash)
        .values(password_hash=new_hash)
    )
    if not result.rowcount:
        raise WrongPassword()  # changed by another request since it was checked
    announce(connection, user_changed(user_id))


def update_profile(
    connection: Connection, user_id: int, data: UserUpdate,
    on_new_address: Callable[[Connection, int], object] | None = None,
) -> AuthUser:  # fmt: skip
    """Change the fields present in `data`; a new e-mail address is no longer verified, and
    `on_new_address(connection, user_id)` then runs in the same unit (its verification mail)."""
    user = get_user(connection, user_id)
    changes: dict[str, Any] = {}
    given = data.model_dump(exclude_unset=True)
    new_address = False
    if "email" in given:
        changes["email"], changes["email_key"] = given["email"], email_key(given["email"])
        if changes["email_key"] != user.email_key:
            changes["email_verified"] = False
            new_address = changes["email_key"] is not None  # removed: no mail to send
    for name in ("first_name", "last_name"):
        if name in given:
            changes[name] = given[name] or ""
    if changes:
        try:
            connection.execute(update(USER).where(USER.c.id == user_id).values(**changes))
        except IntegrityError:
            raise EmailTaken() from None
        # Cached session states hold a snapshot of the user: every process reloads it.
        announce(connection, user_changed(user_id))
    if new_address and on_new_address is not None:
        on_new_address(connection, user_id)
    return AuthUser.of(get_user(connection, user_id))


def check_may_delete(actor: AuthUser, user_id: int) -> None:
    """Forbidden unless `user_id` is the actor's own account or the actor is an admin."""
    if user_id != actor.id and not actor.is_admin:
        raise Forbidden()


def delete_account(
    connection: Connection, actor: AuthUser, user_id: int, context: EventContext = NO_CONTEXT
) -> None:
    """Delete `user_id` (the actor's own account, or any for an admin); the database cascades
    to their sessions, refresh tokens and items. The event outlives the account."""
    check_may_delete(actor, user_id)
    deleted = connection.execute(
        delete(USER).where(USER.c.id == user_id).returning(USER.c.username)
    ).first()
    if deleted is None:
        raise NotFound()
    audit.record(
        connection, EventType.USER_DELETED, context, user_id=user_id, username=deleted.username
    )
    # The sessions are gone: no process may keep honouring their cached states.
    announce(connection, user_changed(user_id))
