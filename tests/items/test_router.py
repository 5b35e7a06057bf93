"""/items over HTTP with cookie sessions: upsert, validation, ownership, reads, lists, deletes."""

import pytest
from sqlalchemy import delete

from authgate.accounts.models import User
from tests.helpers import csrf_headers, execute, signup

MAX_SIZE = 2**31 - 1


async def put(client, path, **kwargs):  # type: ignore[no-untyped-def]
    headers = {**csrf_headers(client), **kwargs.pop("headers", {})}
    return await client.put(path, headers=headers, **kwargs)


async def remove(client, path, **kwargs):  # type: ignore[no-untyped-def]
    headers = {**csrf_headers(client), **kwargs.pop("headers", {})}
    return await client.delete(path, headers=headers, **kwargs)


# --- the seed's upsert --------------------------------------------------------------------


async def test_seed_upsert_creates_then_updates(alice):
    created = await put(alice, "/items/foo?name=Fighters&size=6")
    assert created.status_code == 201
    body = created.json()
    assert body["message"] == "Item created"
    item = body["item"]
    assert {k: item[k] for k in ("id", "name", "size", "owner")} == {
        "id": "foo", "name": "Fighters", "size": 6, "owner": "alice",
    }  # fmt: skip
    assert item["created_at"] == item["updated_at"]
    assert created.headers["location"] == "/items/foo"
    tag = created.headers["etag"]
    assert tag.startswith('"') and tag.endswith('"') and len(tag) > 2  # strong, not W/

    updated = await put(alice, "/items/foo?name=Foo+Fighters&size=7")
    assert updated.status_code == 200
    assert updated.json()["message"] == "Item updated"
    assert updated.json()["item"]["name"] == "Foo Fighters"
    assert updated.json()["item"]["size"] == 7
    assert updated.json()["item"]["created_at"] == item["created_at"]
    assert "location" not in updated.headers
    assert updated.headers["etag"] not in ("", tag)


async def test_messages_in_korean(alice):
    ko = {"Accept-Language": "ko-KR,ko;q=0.9"}
    created = await put(alice, "/items/foo?name=Fighters&size=6", headers=ko)
    assert created.json()["message"] == "아이템이 생성되었습니다"
    assert created.headers["content-language"] == "ko-KR"
    updated = await put(alice, "/items/foo?name=Fighters&size=6", headers=ko)
    assert updated.json()["message"] == "아이템이 수정되었습니다"
    missing = await alice.get("/items/nope", headers=ko)
    assert missing.json() == {"detail": "찾을 수 없습니다.", "code": "not_found"}


async def test_json_body(alice):
    response = await put(alice, "/items/bar", json={"name": "Bar", "size": 0})
    assert response.status_code == 201
    assert response.json()["item"]["name"] == "Bar"
    assert response.json()["item"]["size"] == 0


async def test_body_wins_over_query(alice):
    response = await put(alice, "/items/x?name=Query&size=1", json={"name": "Body", "size": 2})
    assert response.status_code == 201
    assert (response.json()["item"]["name"], response.json()["item"]["size"]) == ("Body", 2)
    # The body wins as a whole: what it leaves out is missing, not taken from the query.
    response = await put(alice, "/items/x?name=Query&size=3", json={"name": "Body"})
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "size"]]


async def test_query_values_sent_must_be_valid_even_when_the_body_wins(alice):
    response = await put(alice, "/items/x?name=&size=1", json={"name": "Body", "size": 2})
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["query", "name"]]


async def test_validation_errors_say_where(alice):
    response = await put(alice, "/items/x?name=n&size=-1")
    assert [e["loc"] for e in response.json()["detail"]] == [["query", "size"]]
    response = await put(alice, "/items/x", json={"name": "", "size": 1})
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "name"]]


async def test_json_body_with_charset_and_empty_body(alice):
    response = await put(
        alice, "/items/c?name=Q&size=1",
        content=b"", headers={"Content-Type": "application/json; charset=utf-8"},
    )  # fmt: skip
    assert response.status_code == 201  # an empty body is no body: the query is used


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",  # neither
        "?name=Fighters",  # no size
        "?size=6",  # no name
        "?name=&size=6",  # empty name
        f"?name={'n' * 201}&size=6",  # name too long
        "?name=Fighters&size=-1",
        f"?name=Fighters&size={MAX_SIZE + 1}",
        "?name=Fighters&size=six",
        "?name=Fighters&size=6.5",
        "?name=a%00b&size=6",  # control character
    ],
)
async def test_invalid_input_is_422(alice, query):
    response = await put(alice, f"/items/foo{query}")
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert isinstance(response.json()["detail"], list)
    assert (await alice.get("/items/foo")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x"},
        {"size": 1},
        {"name": "", "size": 1},
        {"name": "x" * 201, "size": 1},
        {"name": "x", "size": -1},
        {"name": "x", "size": MAX_SIZE + 1},
        {"name": None, "size": 1},
        {"name": "x", "size": [1]},
    ],
)
async def test_invalid_json_body_is_422(alice, body):
    response = await put(alice, "/items/foo", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"null", b"{not json", b"\xff\xfe"])
async def test_malformed_json_is_422(alice, raw):
    response = await put(
        alice, "/items/foo", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        ("application/x-www-form-urlencoded", b"name=x&size=1"),
        ("text/plain", b"name=x&size=1"),
        ("application/xml", b"<item/>"),
    ],
)
async def test_non_json_body_is_415(alice, content_type, raw):
    response = await put(alice, "/items/foo", content=raw, headers={"Content-Type": content_type})
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("name", "size"), [("n", 0), ("n" * 200, MAX_SIZE), ("한글 이름", 1), ("with space", 5)]
)
async def test_boundary_values_are_accepted(alice, name, size):
    response = await put(alice, "/items/edge", json={"name": name, "size": size})
    assert response.status_code == 201, response.text
    assert response.json()["item"]["name"] == name
    assert response.json()["item"]["size"] == size


@pytest.mark.parametrize("item_id", ["a", "A.b_c-9", "x" * 64, "...", "-"])
async def test_valid_ids(alice, item_id):
    response = await put(alice, f"/items/{item_id}?name=n&size=1")
    assert response.status_code == 201, response.text
    assert response.json()["item"]["id"] == item_id
    assert (await alice.get(f"/items/{item_id}")).status_code == 200


@pytest.mark.parametrize("item_id", ["x" * 65, "a%20b", "a%2Ab", "%ED%95%9C", "a~b", "a%00"])
async def test_invalid_ids_are_422(alice, item_id):
    response = await put(alice, f"/items/{item_id}?name=n&size=1")
    assert response.status_code == 422
    assert (await alice.get(f"/items/{item_id}")).status_code == 422
    assert (await remove(alice, f"/items/{item_id}")).status_code == 422


# --- ownership ------------------------------------------------------------------------------


async def test_someone_elses_item_is_403(alice, bob):
    await put(alice, "/items/foo?name=Mine&size=1")
    response = await put(bob, "/items/foo?name=Stolen&size=2")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    response = await remove(bob, "/items/foo")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    item = (await alice.get("/items/foo")).json()
    assert (item["name"], item["owner"]) == ("Mine", "alice")


async def test_admin_edits_and_deletes_anyones_item_keeping_the_owner(alice, bob, make_admin):
    await put(alice, "/items/foo?name=Mine&size=1")
    await make_admin("bob")
    response = await put(bob, "/items/foo?name=Moderated&size=2")
    assert response.status_code == 200
    assert response.json()["item"]["owner"] == "alice"
    assert (await alice.get("/items/foo")).json()["owner"] == "alice"
    assert (await put(alice, "/items/foo?name=Still+mine&size=3")).status_code == 200
    assert (await remove(bob, "/items/foo")).status_code == 204
    assert (await alice.get("/items/foo")).status_code == 404


async def test_admin_creating_an_item_owns_it(bob, make_admin):
    await make_admin("bob")
    response = await put(bob, "/items/adm?name=n&size=1")
    assert response.status_code == 201
    assert response.json()["item"]["owner"] == "bob"


# --- reading --------------------------------------------------------------------------------


async def test_get_is_public_with_etag(alice, new_client):
    created = await put(alice, "/items/foo?name=Fighters&size=6")
    anonymous = new_client()
    response = await anonymous.get("/items/foo")
    assert response.status_code == 200
    assert response.json() == created.json()["item"]
    assert response.headers["etag"] == created.headers["etag"]


async def test_get_missing_is_404(client):
    response = await client.get("/items/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


# --- deleting -------------------------------------------------------------------------------


async def test_delete(alice):
    await put(alice, "/items/foo?name=n&size=1")
    response = await remove(alice, "/items/foo")
    assert response.status_code == 204
    assert response.content == b""
    assert (await alice.get("/items/foo")).status_code == 404
    again = await remove(alice, "/items/foo")
    assert again.status_code == 404
    assert again.json()["code"] == "not_found"


# --- authentication and CSRF ----------------------------------------------------------------


async def test_writes_need_credentials(alice, new_client):
    await put(alice, "/items/foo?name=n&size=1")
    anonymous = new_client()
    for response in (
        await anonymous.put("/items/foo?name=x&size=1"),
        await anonymous.put("/items/new?name=x&size=1"),
        await anonymous.delete("/items/foo"),
        await anonymous.delete("/items/missing"),  # 401 before 404: nothing is disclosed
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize("header", [None, "", "wrong-token"])
async def test_csrf_rule_on_put_and_delete(alice, header):
    await put(alice, "/items/foo?name=n&size=1")
    headers = {} if header is None else {"X-CSRF-Token": header}
    for response in (
        await alice.put("/items/foo?name=x&size=2", headers=headers),
        await alice.put("/items/new?name=x&size=2", headers=headers),
        await alice.delete("/items/foo", headers=headers),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "csrf_failed"
    assert (await alice.get("/items/foo")).json()["name"] == "n"
    assert (await alice.get("/items/new")).status_code == 404


async def test_csrf_token_of_another_session_is_refused(alice, bob):
    response = await alice.put("/items/foo?name=x&size=1", headers=csrf_headers(bob))
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


async def test_after_logout_writes_are_401(alice):
    await put(alice, "/items/foo?name=n&size=1")
    await alice.post("/logout", headers=csrf_headers(alice))
    assert (await alice.put("/items/foo?name=x&size=1")).status_code == 401


# --- the owner goes, the items go -----------------------------------------------------------


async def test_deleting_a_user_deletes_their_items(app, alice, bob):
    await put(alice, "/items/a?name=n&size=1")
    await put(alice, "/items/b?name=n&size=1")
    await put(bob, "/items/c?name=n&size=1")
    await execute(app, delete(User).where(User.username == "alice"))
    assert (await bob.get("/items/a")).status_code == 404
    assert [i["id"] for i in (await bob.get("/items")).json()["items"]] == ["c"]


async def test_a_new_user_with_the_same_name_does_not_inherit_items(app, alice, new_client):
    await put(alice, "/items/a?name=n&size=1")
    await execute(app, delete(User).where(User.username == "alice"))
    again = new_client()
    await signup(again, "alice")
    assert (await again.get("/items/a")).status_code == 404
    assert (await put(again, "/items/a?name=mine&size=1")).status_code == 201
