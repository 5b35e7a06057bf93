"""The rules about items: reading, listing, upserting under preconditions, deleting.

Every write is one unit of work that reads the item (locked, on PostgreSQL), checks who may
edit it and the request's preconditions, and writes by compare-and-set on the revision it
checked: concurrent writers never lose each other's updates.
"""

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from authgate.accounts.models import User
from authgate.accounts.snapshot import AuthUser
from authgate.errors import Forbidden, NotFound, PreconditionFailed
from authgate.items.models import Item
from authgate.items.schemas import ItemWrite
from authgate.units import Prepared

ITEM, USER = Item.__table__, User.__table__
COLUMNS = ("id", "name", "size", "owner_id", "created_at", "updated_at", "revision")


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as stored, with its owner's username: a snapshot, not a database row."""

    id: str
    name: str
    size: int
    owner_id: int
    owner: str
    created_at: datetime
    updated_at: datetime
    revision: str

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


def get(connection: Connection, item_id: str, *, for_update: bool = False) -> StoredItem | None:
    """The item, or None; `for_update` locks it until the transaction ends."""
    rows = (_GET_LOCKED if for_update else _GET).run(connection, {"id": item_id})
    return StoredItem(*rows[0]) if rows else None


def page(
    connection: Connection, limit: int, after: str | None
) -> tuple[list[StoredItem], str | None]:
    """Up to `limit` items by id, starting after `after`; and the last id when more follow."""
    statement = _WITH_OWNER.order_by(ITEM.c.id).limit(limit + 1)
    if after is not None:
        statement = statement.where(ITEM.c.id > after)
    rows = connection.execute(statement).all()
    found = [StoredItem(*row) for row in rows[:limit]]
    return found, (found[-1].id if len(rows) > limit else None)


def upsert(
    connection: Connection,
    item_id: str,
    data: ItemWrite,
    user: AuthUser,
    now: datetime,
    *,
    if_match: str | None,
    if_none_match: str | None,
) -> tuple[StoredItem, bool]:
    """Create or replace `item_id` (the caller's, or any for an admin); returns the item and
    whether it was created."""
    existing = get(connection, item_id, for_update=True)
    if existing is None:
        if if_match is not None:
            # If-Match, even `*`, fails when there is no current representation (RFC 9110).
            raise PreconditionFailed()
        item = StoredItem(
            id=item_id, name=data.name, size=data.size, owner_id=user.id, owner=user.username,
            created_at=now, updated_at=now, revision=secrets.token_hex(8),
        )  # fmt: skip
        if _INSERT[connection.dialect.name].run(connection, _row(item)):
            return item, True
        # PostgreSQL: a concurrent PUT inserted it after our read. Ours becomes an update.
        existing = get(connection, item_id, for_update=True)
        if existing is None:
            raise PreconditionFailed()
    ensure_editable(user, existing)
    if matches(if_none_match, existing.etag, weak=True):
        raise PreconditionFailed()
    if if_match is not None and not matches(if_match, existing.etag):
        raise PreconditionFailed()
    changed = replace(
        existing, name=data.name, size=data.size, updated_at=now, revision=secrets.token_hex(8)
    )
    # Compare-and-set on the revision we checked: should the row have moved since (on
    # PostgreSQL it is locked, on SQLite the write lock is held), nothing is overwritten.
    params = {f"new_{name}": getattr(changed, name) for name in _REPLACED}
    if not _REPLACE.run(connection, {**params, "key": changed.id, "expected": existing.revision}):
        raise PreconditionFailed()
    return changed, False


def remove(connection: Connection, item_id: str, user: AuthUser, if_match: str | None) -> None:
    """Delete an item the caller may edit; `if_match` makes it conditional."""
    existing = get(connection, item_id, for_update=True)
    if existing is None:
        raise NotFound()
    ensure_editable(user, existing)
    if if_match is not None and not matches(if_match, existing.etag):
        raise PreconditionFailed()
    params = {"id": existing.id, "expected": existing.revision}
    if not _DELETE.run(connection, params):
        raise PreconditionFailed()


def _row(item: StoredItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in COLUMNS}


_WITH_OWNER = select(
    *(ITEM.c[name] for name in ("id", "name", "size", "owner_id")),
    USER.c.username.label("owner"),
    *(ITEM.c[name] for name in ("created_at", "updated_at", "revision")),
).join(USER, USER.c.id == ITEM.c.owner_id)
_BY_ID = _WITH_OWNER.where(ITEM.c.id == bindparam("id"))
_GET = Prepared(_BY_ID)
# PostgreSQL holds the row, so that the checks and the write that follow are one step; on
# SQLite (which has no FOR UPDATE) the writer's BEGIN IMMEDIATE already serialises them.
_GET_LOCKED = Prepared(_BY_ID.with_for_update(of=ITEM))
_INSERT = {
    dialect.__name__.rsplit(".", 1)[-1]: Prepared(
        dialect.insert(ITEM).on_conflict_do_nothing(index_elements=["id"]), insert=COLUMNS
    )
    for dialect in (postgresql, sqlite)
}
_REPLACED = ("name", "size", "updated_at", "revision")
_REPLACE = Prepared(
    update(ITEM)
    .where(ITEM.c.id == bindparam("key"), ITEM.c.revision == bindparam("expected"))
    .values({name: bindparam(f"new_{name}") for name in _REPLACED})
)
_DELETE = Prepared(
    delete(ITEM).where(ITEM.c.id == bindparam("id"), ITEM.c.revision == bindparam("expected"))
)
