"""Checks that must hold before an item handler runs."""

from typing import Annotated

from fastapi import Depends, Path

from authgate.db import DbSession, ReadDbSession
from authgate.errors import NotFound
from authgate.items import service
from authgate.items.schemas import ITEM_ID_PATTERN
from authgate.items.service import StoredItem
from authgate.sessions.dependencies import CurrentUser

ItemId = Annotated[str, Path(pattern=ITEM_ID_PATTERN, max_length=64)]


async def get_item(item_id: ItemId, db: ReadDbSession) -> StoredItem:
    """The item exists (for readers)."""
    found = await service.get(db, item_id)
    if found is None:
        raise NotFound()
    return found


async def find_writable_item(
    item_id: ItemId, user: CurrentUser, db: DbSession
) -> StoredItem | None:
    """The item, locked in the request's write transaction, when it exists; then the caller
    must own it or be an admin (403). None when there is no such item.

    The caller is authenticated first: the session check must not wait on the write lock.
    The handler writes through the same `DbSession`, so the check and the write are atomic.
    """
    found = await service.get(db, item_id, for_update=True)
    if found is not None:
        service.ensure_editable(user, found)
    return found


async def get_owned_item(
    found: Annotated[StoredItem | None, Depends(find_writable_item)],
) -> StoredItem:
    """The item exists, and the caller owns it or is an admin."""
    if found is None:
        raise NotFound()
    return found


ExistingItem = Annotated[StoredItem, Depends(get_item)]
WritableItem = Annotated[StoredItem | None, Depends(find_writable_item)]
OwnedItem = Annotated[StoredItem, Depends(get_owned_item)]
