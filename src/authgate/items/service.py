"""The rules about items: reading, listing, upserting under preconditions, deleting."""

import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authgate.accounts.models import User
from authgate.errors import Forbidden, PreconditionFailed
from authgate.items.models import Item
from authgate.items.schemas import ItemWrite
from authgate.sessions.store import AuthUser


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as stored, with its owner's username: a snapshot, not an ORM object."""

    id: str
    name: str
    size: int
    owner_id: int
    owner: str
    created_at: datetime
    updated_at: datetime
    revision: str

    @classmethod
    def of(cls, item: Item, owner: str) -> "StoredItem":
        return cls(
            id=item.id, name=item.name, size=item.size, owner_id=item.owner_id, owner=owner,
            created_at=item.created_at, updated_at=item.updated_at, revision=item.revision,
        )  # fmt: skip

    @property
    def etag(self) -> str:
        return f'"{self.revision}"'


def matches(header: str | None, etag: str, *, weak: bool = False) -> bool:
    """Whether an If-Match / If-None-Match list names `etag` (or is `*`).

    RFC 9110: If-Match compares strongly, so a weak tag (`W/"..."`) never matches it;
    If-None-Match compares weakly (`weak=True`).
    """
    if header is None:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    if weak:
        tags = [tag.removeprefix("W/") for tag in tags]
    return "*" in tags or etag in tags


def may_edit(user: AuthUser, item: StoredItem) -> bool:
    return item.owner_id == user.id or user.is_admin


def ensure_editable(user: AuthUser, item: StoredItem) -> None:
    if not may_edit(user, item):
        raise Forbidden()


def _with_owner() -> Select[tuple[Item, str]]:
    return select(Item, User.username).join(User, User.id == Item.owner_id)


async def get(db: AsyncSession, item_id: str, *, for_update: bool = False) -> StoredItem | None:
    """The item, or None; `for_update` locks it until the transaction ends."""
    statement = _with_owner().where(Item.id == item_id)
    if for_update:
        # PostgreSQL holds the row, so that the checks and the write that follow are one step;
        # on SQLite the writer's BEGIN IMMEDIATE already serialises them (no FOR UPDATE there).
        statement = statement.with_for_update(of=Item)
    row = (await db.execute(statement)).first()
    return StoredItem.of(*row) if row else None


async def page(
    db: AsyncSession, limit: int, after: str | None
) -> tuple[list[StoredItem], str | None]:
    """Up to `limit` items by id, starting after `after`; and the last id when more follow."""
    statement = _with_owner().order_by(Item.id).limit(limit + 1)
    if after is not None:
        statement = statement.where(Item.id > after)
    rows = (await db.execute(statement)).all()
    found = [StoredItem.of(item, owner) for item, owner in rows[:limit]]
    return found, (found[-1].id if len(rows) > limit else None)


async def upsert(
    db: AsyncSession,
    item_id: str,
    existing: StoredItem | None,
    data: ItemWrite,
    user: AuthUser,
    now: datetime,
    *,
    if_match: str | None,
    if_none_match: str | None,
) -> tuple[StoredItem, bool]:
    """Create or replace `item_id`; returns the item and whether it was created.

    `existing` was read (and locked) by this same transaction, and the caller may edit it.
    """
    if existing is None:
        if if_match is not None:
            # If-Match, even `*`, fails when there is no current representation (RFC 9110).
            raise PreconditionFailed()
        created = await _create(db, item_id, data, user, now)
        if created is not None:
            return created, True
        # PostgreSQL: a concurrent PUT inserted it after our read. Ours becomes an update.
        existing = await get(db, item_id, for_update=True)
        if existing is None:
            raise PreconditionFailed()
        ensure_editable(user, existing)
    return await _replace(db, existing, data, now, if_match, if_none_match), False


async def _create(
    db: AsyncSession, item_id: str, data: ItemWrite, user: AuthUser, now: datetime
) -> StoredItem | None:
    item = Item(
        id=item_id, name=data.name, size=data.size, owner_id=user.id,
        created_at=now, updated_at=now, revision=secrets.token_hex(8),
    )  # fmt: skip
    db.add(item)
    try:
        await db.commit()
    except IntegrityError:
        await db.rollback()
        return None
    return StoredItem.of(item, user.username)


async def _replace(
    db: AsyncSession,
    existing: StoredItem,
    data: ItemWrite,
    now: datetime,
    if_match: str | None,
    if_none_match: str | None,
) -> StoredItem:
    if matches(if_none_match, existing.etag, weak=True):
        raise PreconditionFailed()
    if if_match is not None and not matches(if_match, existing.etag):
        raise PreconditionFailed()
    revision = secrets.token_hex(8)
    # Compare-and-set on the revision we checked: should the row have moved since (it is
    # locked, so it cannot), nothing is overwritten and the caller gets 412.
    result = await db.execute(
        update(Item)
        .where(Item.id == existing.id, Item.revision == existing.revision)
        .values(name=data.name, size=data.size, updated_at=now, revision=revision)
        .execution_options(synchronize_session=False)
    )
    await db.commit()
    if not result.rowcount:
        raise PreconditionFailed()
    return replace(existing, name=data.name, size=data.size, updated_at=now, revision=revision)


async def remove(db: AsyncSession, existing: StoredItem, if_match: str | None) -> None:
    """Delete an item the caller may edit, read (and locked) by this same transaction."""
    if if_match is not None and not matches(if_match, existing.etag):
        raise PreconditionFailed()
    result = await db.execute(
        delete(Item)
        .where(Item.id == existing.id, Item.revision == existing.revision)
        .execution_options(synchronize_session=False)
    )
    await db.commit()
    if not result.rowcount:
        raise PreconditionFailed()
