"""Checks that must hold before an item handler runs."""

from typing import Annotated

from fastapi import Depends, Path

from authgate.db import ReadDbSession
from authgate.errors import Forbidden, NotFound
from authgate.items import service
from authgate.items.schemas import ITEM_ID_PATTERN
from authgate.sessions.dependencies import CurrentUser

ItemId = Annotated[str, Path(pattern=ITEM_ID_PATTERN, max_length=64)]


async def get_item(item_id: ItemId, db: ReadDbSession) -> service.OwnedItem:
    found = await service.get(db, item_id)
    if found is None:
        raise NotFound()
    return found


async def get_owned_item(
    found: Annotated[service.OwnedItem, Depends(get_item)], user: CurrentUser
) -> service.OwnedItem:
    """The item exists, and the caller owns it or is an admin."""
    if found.item.owner_id != user.id and not user.is_admin:
        raise Forbidden()
    return found


OwnedItem = Annotated[service.OwnedItem, Depends(get_owned_item)]
ExistingItem = Annotated[service.OwnedItem, Depends(get_item)]
