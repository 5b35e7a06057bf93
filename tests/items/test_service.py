"""The items service and schemas on a real database, without HTTP."""

from datetime import timedelta

import pytest
from fastapi import FastAPI

from authgate.accounts.models import User
from authgate.errors import Forbidden, PreconditionFailed
from authgate.items import service
from authgate.items.schemas import ItemWrite, decode_cursor, encode_cursor
from authgate.sessions.store import AuthUser


async def make_user(app: FastAPI, username: str, *, is_admin: bool = False) -> AuthUser:
    async with app.state.db.writer() as db:
        user = User(
            username=username, username_key=username.casefold(),
            password_hash="-", is_admin=is_admin,
        )  # fmt: skip
        db.add(user)
        await db.commit()
        return AuthUser.of(user)


async def upsert(app, item_id, user, name="n", size=1, **preconditions):  # type: ignore[no-untyped-def]
    preconditions = {"if_match": None, "if_none_match": None, **preconditions}
    async with app.state.db.writer() as db:
        existing = await service.get(db, item_id, for_update=True)
        return await service.upsert(
            db, item_id, existing, ItemWrite(name=name, size=size), user,
            app.state.clock(), **preconditions,
        )  # fmt: skip


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
    async with app.state.db.reader() as db:
        assert await service.get(db, "foo") == replaced


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
    async with app.state.db.writer() as db:
        with pytest.raises(PreconditionFailed):
            await service.remove(db, replaced, created.etag)
    async with app.state.db.writer() as db:
        await service.remove(db, replaced, replaced.etag)
    async with app.state.db.reader() as db:
        assert await service.get(db, "foo") is None


async def test_remove_of_a_version_that_moved_on_is_412(app):
    alice = await make_user(app, "alice")
    old, _ = await upsert(app, "foo", alice)
    await upsert(app, "foo", alice, name="newer")
    async with app.state.db.writer() as db:
        with pytest.raises(PreconditionFailed):
            await service.remove(db, old, None)  # the compare-and-set guards even without a tag


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
    async with app.state.db.reader() as db:
        first, last = await service.page(db, 2, None)
        assert [i.id for i in first] == ["a", "b"] and last == "b"
        second, last = await service.page(db, 2, last)
        assert [i.id for i in second] == ["c", "d"] and last == "d"
        third, last = await service.page(db, 2, last)
        assert [i.id for i in third] == ["e"] and last is None
        exact, last = await service.page(db, 5, None)
        assert len(exact) == 5 and last is None
