"""The rules about items: reading, listing, upserting with preconditions, deleting."""

import base64
import binascii
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from authgate.accounts.models import User
from authgate.errors import AppError, Forbidden, PreconditionFailed
from authgate.items.models import Item
from authgate.items.schemas import ItemRead, ItemWrite
from authgate.sessions.store import AuthUser


class BadCursor(AppError):
    status, code = 422, "validation_error"


@dataclass(frozen=True, slots=True)
class OwnedItem:
    item: Item
    owner: str

    @property
    def etag(self) -> str:
        return etag_of(self.item)

    def read(self) -> ItemRead:
        i = self.item
        return ItemRead(
            id=i.id, name=i.name, size=i.size, owner=self.owner,
            created_at=i.created_at, updated_at=i.updated_at,
        )  # fmt: skip


def etag_of(item: Item) -> str:
    return f'"{item.revision}"'


def matches(header: str | None, current: str | None) -> bool:
    """Strong comparison of an If-Match / If-None-Match list against the current ETag."""
    if header is None or current is None:
        return False
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or current in tags


async def get(db: AsyncSession, item_id: str) -> OwnedItem | None:
    row = (
        await db.execute(
            select(Item, User.username)
            .join(User, User.id == Item.owner_id)
            .where(Item.id == item_id)
        )
    ).first()
    return OwnedItem(row[0], row[1]) if row else None


async def page(
    db: AsyncSession, limit: int, cursor: str | None
) -> tuple[list[OwnedItem], str | None]:
    statement = select(Item, User.username).join(User, User.id == Item.owner_id).order_by(Item.id)
    if cursor:
        statement = statement.where(Item.id > _decode_cursor(cursor))
    rows = (await db.execute(statement.limit(limit + 1))).all()
    found = [OwnedItem(item, owner) for item, owner in rows[:limit]]
    more = len(rows) > limit
    return found, (_encode_cursor(found[-1].item.id) if more and found else None)


def _encode_cursor(item_id: str) -> str:
    return base64.urlsafe_b64encode(item_id.encode()).rstrip(b"=").decode()


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadCursor() from None


async def upsert(
    db: AsyncSession,
    item_id: str,
    data: ItemWrite,
    user: AuthUser,
    now: datetime,
    *,
    if_match: str | None,
    if_none_match: str | None,
) -> tuple[OwnedItem, bool]:
    """Create or replace `item_id`; returns the item and whether it was created."""
    existing = await get(db, item_id)
    if existing is None:
        if if_match is not None:
            raise PreconditionFailed()
        created = await _create(db, item_id, data, user, now)
        if created is not None:
            return created, True
        # Somebody created it between our read and our insert: treat this as an update.
        existing = await get(db, item_id)
        if existing is None:
            raise PreconditionFailed()
    return await _replace(db, existing, data, user, now, if_match, if_none_match), False


async def _create(
    db: AsyncSession, item_id: str, data: ItemWrite, user: AuthUser, now: datetime
) -> OwnedItem | None:
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
    return OwnedItem(item, user.username)


async def _replace(
    db: AsyncSession,
    existing: OwnedItem,
    data: ItemWrite,
    user: AuthUser,
    now: datetime,
    if_match: str | None,
    if_none_match: str | None,
) -> OwnedItem:
    item = existing.item
    if item.owner_id != user.id and not user.is_admin:
        raise Forbidden()
    if matches(if_none_match, existing.etag):
        raise PreconditionFailed()
    if if_match is not None and not matches(if_match, existing.etag):
        raise PreconditionFailed()
    revision = secrets.token_hex(8)
    statement = update(Item).where(Item.id == item.id)
    if if_match is not None:
        # Compare-and-set: a writer that read the same revision as us and wrote first wins,
        # and we answer 412 instead of silently overwriting its update.
        statement = statement.where(Item.revision == item.revision)
    result = await db.execute(
        statement.values(name=data.name, size=data.size, updated_at=now, revision=revision)
    )
    await db.commit()
    if not result.rowcount:
        raise PreconditionFailed()
    item.name, item.size, item.updated_at, item.revision = data.name, data.size, now, revision
    return existing


async def remove(db: AsyncSession, existing: OwnedItem, if_match: str | None) -> None:
    if if_match is not None and not matches(if_match, existing.etag):
        raise PreconditionFailed()
    statement = delete(Item).where(Item.id == existing.item.id)
    if if_match is not None:
        statement = statement.where(Item.revision == existing.item.revision)
    result = await db.execute(statement)
    await db.commit()
    if not result.rowcount:
        raise PreconditionFailed()
