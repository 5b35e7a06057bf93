"""The items service and schemas on a real database, without HTTP."""

from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import insert

from authgate.accounts.models import User
from authgate.accounts.service import SNAPSHOT
from authgate.accounts.snapshot import AuthUser
from authgate.errors import Forbidden, NotFound, PreconditionFailed
from authgate.items import service
from authgate.items.schemas import ItemWrite, decode_cursor, encode_cursor
from tests.helpers import execute


async def make_user(app: FastAPI, username: str, *, is_admin: bool = False) -> AuthUser:
    row = {
        "username": username, "username_key": username.casefold(),
        "password_hash": "-", "is_admin": is_admin,
    }  # fmt: skip
    created = await execute(app, insert(User).values(**row).returning(*SNAPSHOT))
    return AuthUser.of(created[0])


async def upsert(app, item_id, user, name="n", size=1, **preconditions):  # type: ignore[no-untyped-def]
    preconditions = {"if_match": None, "if_none_match": None, **preconditions}
    data, now = ItemWrite(name=name, size=size), app.state.clock()
    return await app.state.db.write(
        lambda c: service.upsert(c, item_id, data, user, now, **preconditions)
    )


async def get(app, item_id):  # type: ignore[no-untyped-def]
    return await app.state.db.read(lambda c: service.get(c, item_id))


async def remove(app, item_id, user, if_match):  # type: ignore[no-untyped-def]
    await app.state.db.write(lambda c: service.remove(c, item_id, user, if_match))


@pytest.mark.parametrize(
    ("header", "weak", "expected"),
    [
        (None, False, False),
        ('"abc"', False, True),
        ('"abd"', False, False),
        ('W/"abc"', False, False),  # If-Match compares strongly
        ('W/"abc"', True, True),  # If-None-Match compares weakly
        ('"x", "abc"', False, True),
        ('"x","abc"', False, True),
        ("*", False, True),
        ("abc", False, False),  # an unquoted tag is not the tag
        ("", False, False),
    ],
)
def test_matches(header, weak, expected):
    assert service.matches(header, '"abc"', weak=weak) is expected


@pytest.mark.parametrize("item_id", ["a", "x" * 64, "A.b_c-9", "..."])
def test_cursor_round_trip(item_id):
    cursor = encode_cursor(item_id)
    assert "=" not in cursor
    assert decode_cursor(cursor) == item_id


@pytest.mark.parametrize("cursor", ["", "!", "a", "YQ=x", encode_cursor("a") + "\n"])
def test_decode_cursor_refuses_garbage(cursor):
    with pytest.raises(ValueError):
        decode_cursor(cursor)


async def test_create_then_replace(app, clock):
    alice = await make_user(app, "alice")
    created, is_new = await upsert(app, "foo", alice, name="Fighters", size=6)
    assert is_new
    assert (created.owner, created.owner_id, created.name) == ("alice", alice.id, "Fighters")
    clock.advance(60)
    replaced, is_new = await upsert(app, "foo", alice, name="Foo", size=7)
    assert not is_new
    assert replaced.revision != created.revision
    assert replaced.created_at == created.created_at
    assert replaced.updated_at == created.updated_at + timedelta(seconds=60)
    assert await get(app, "foo") == replaced


async def test_preconditions(app):
    alice = await make_user(app, "alice")
    created, _ = await upsert(app, "foo", alice)
    with pytest.raises(PreconditionFailed):
        await upsert(app, "foo", alice, if_match='"stale"')
    with pytest.raises(PreconditionFailed):
        await upsert(app, "foo", alice, if_none_match="*")
    with pytest.raises(PreconditionFailed):
        await upsert(app, "missing", alice, if_match="*")
    replaced, _ = await upsert(app, "foo", alice, if_match=created.etag)
    with pytest.raises(PreconditionFailed):
        await remove(app, "foo", alice, created.etag)
    await remove(app, "foo", alice, replaced.etag)
    assert await get(app, "foo") is None
    with pytest.raises(NotFound):
        await remove(app, "foo", alice, None)


async def test_writes_check_the_owner_in_their_own_transaction(app):
    alice, bob = await make_user(app, "alice"), await make_user(app, "bob")
    item, _ = await upsert(app, "foo", alice)
    with pytest.raises(Forbidden):
        await upsert(app, "foo", bob, name="mine now")
    with pytest.raises(Forbidden):
        await remove(app, "foo", bob, item.etag)
    assert await get(app, "foo") == item  # nothing changed


async def test_may_edit(app):
    alice, bob = await make_user(app, "alice"), await make_user(app, "bob")
    admin = await make_user(app, "root", is_admin=True)
    item, _ = await upsert(app, "foo", alice)
    assert service.may_edit(alice, item)
    assert service.may_edit(admin, item)
    assert not service.may_edit(bob, item)
    with pytest.raises(Forbidden):
        service.ensure_editable(bob, item)
    edited, _ = await upsert(app, "foo", admin, name="by admin")
    assert (edited.owner, edited.owner_id) == ("alice", alice.id)


async def test_page(app):
    alice = await make_user(app, "alice")
    for item_id in ("c", "a", "b", "e", "d"):
        await upsert(app, item_id, alice)

    async def page(limit, after):  # type: ignore[no-untyped-def]
        return await app.state.db.read(lambda c: service.page(c, limit, after))

    first, last = await page(2, None)
    assert [i.id for i in first] == ["a", "b"] and last == "b"
    second, last = await page(2, last)
    assert [i.id for i in second] == ["c", "d"] and last == "d"
    third, last = await page(2, last)
    assert [i.id for i in third] == ["e"] and last is None
    exact, last = await page(5, None)
    assert len(exact) == 5 and last is None
