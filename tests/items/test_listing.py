"""GET /items: everyone's items, a page at a time, with cursors that cannot be forged."""

import base64

import pytest

from tests.helpers import csrf_headers


async def put(client, path):  # type: ignore[no-untyped-def]
    return await client.put(path, headers=csrf_headers(client))


async def test_list_is_everyones_items(alice, bob, new_client):
    await put(alice, "/items/a1?name=A&size=1")
    await put(bob, "/items/b1?name=B&size=2")
    response = await new_client().get("/items")
    assert response.status_code == 200
    body = response.json()
    assert [(i["id"], i["owner"]) for i in body["items"]] == [("a1", "alice"), ("b1", "bob")]
    assert body["next"] is None


async def test_empty_list(client):
    assert (await client.get("/items")).json() == {"items": [], "next": None}


async def test_default_limit_is_50(alice):
    for n in range(51):
        await put(alice, f"/items/i{n:03d}?name=n&size={n}")
    first = (await alice.get("/items")).json()
    assert len(first["items"]) == 50
    assert first["next"] is not None
    rest = (await alice.get("/items", params={"cursor": first["next"]})).json()
    assert [i["id"] for i in rest["items"]] == ["i050"]
    assert rest["next"] is None


async def test_walking_every_page(alice, bob):
    ids = sorted([f"a{n}" for n in range(7)] + [f"b.{n}" for n in range(6)] + ["Z", "_", "-"])
    for n, item_id in enumerate(ids):
        await put(alice if n % 2 else bob, f"/items/{item_id}?name=n&size={n}")
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 4} | ({"cursor": cursor} if cursor else {})
        body = (await alice.get("/items", params=params)).json()
        assert len(body["items"]) <= 4
        seen += [i["id"] for i in body["items"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == sorted(ids)  # none repeated, none missing, in id order
    assert pages == 4


async def test_limit_100_is_allowed(client):
    assert (await client.get("/items?limit=100")).status_code == 200
    assert (await client.get("/items?limit=1")).status_code == 200


@pytest.mark.parametrize("limit", ["0", "101", "-1", "x", "1.5", ""])
async def test_limit_out_of_range_is_422(client, limit):
    response = await client.get(f"/items?limit={limit}")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def _b64(text: bytes) -> str:
    return base64.urlsafe_b64encode(text).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "a",
        "%25%25",
        "====",
        "x" * 500,
        _b64(b"../etc"),
        _b64(b"a b"),
        _b64(b"\xff\xfe"),
        _b64(b"x" * 65),
        _b64(b"ok\n"),
    ],
)
async def test_garbage_cursor_is_422(alice, cursor):
    await put(alice, "/items/a?name=n&size=1")
    response = await alice.get("/items", params={"cursor": cursor})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
