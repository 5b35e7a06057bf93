"""Checks that must hold before an item handler runs."""

from typing import Annotated

from fastapi import Depends, Path, Request

from authgate.errors import NotFound
from authgate.items import service
from authgate.items.schemas import ITEM_ID_PATTERN
from authgate.items.service import StoredItem
from authgate.sessions.dependencies import CurrentUser

ItemId = Annotated[str, Path(pattern=ITEM_ID_PATTERN, max_length=64)]


async def get_item(item_id: ItemId, request: Request) -> StoredItem:
    """The item exists (for readers)."""
    found = await request.app.state.db.read(lambda c: service.get(c, item_id))
    if found is None:
        raise NotFound()
    return found


async def get_owned_item(item_id: ItemId, request: Request, user: CurrentUser) -> StoredItem:
    """The item exists, and the caller owns it or is an admin (the write checks again, in
    its own transaction: this answers 404 and 403 before a body is read or a lock taken)."""
    found = await get_item(item_id, request)
    service.ensure_editable(user, found)
    return found


OwnedItem = Annotated[StoredItem, Depends(get_owned_item)]
