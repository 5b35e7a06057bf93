"""/items ETags and preconditions: 304, 412, and no lost update under concurrent writers."""

import asyncio

import pytest

from tests.helpers import csrf_headers


async def put(client, path, **headers):  # type: ignore[no-untyped-def]
    return await client.put(path, headers={**csrf_headers(client), **headers})


async def remove(client, path, **headers):  # type: ignore[no-untyped-def]
    return await client.delete(path, headers={**csrf_headers(client), **headers})


@pytest.fixture
async def tag(alice) -> str:
    """alice's item `foo` exists; its current ETag."""
    response = await put(alice, "/items/foo?name=Fighters&size=6")
    assert response.status_code == 201
    return response.headers["etag"]


async def test_if_none_match_current_is_304(client, tag):
    response = await client.get("/items/foo", headers={"If-None-Match": tag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == tag


@pytest.mark.parametrize("header", ["{tag}", "W/{tag}", '"other", {tag}', "*"])
async def test_if_none_match_forms_that_match(client, tag, header):
    response = await client.get("/items/foo", headers={"If-None-Match": header.format(tag=tag)})
    assert response.status_code == 304


async def test_if_none_match_stale_is_200(alice, client, tag):
    await put(alice, "/items/foo?name=Changed&size=1")
    response = await client.get("/items/foo", headers={"If-None-Match": tag})
    assert response.status_code == 200
    assert response.json()["name"] == "Changed"
    assert response.headers["etag"] != tag


async def test_etag_changes_on_every_write_and_matches_get(alice, tag):
    seen = {tag}
    for n in range(3):
        response = await put(alice, f"/items/foo?name=Fighters&size={n}")
        assert response.headers["etag"] not in seen
        seen.add(response.headers["etag"])
        assert (await alice.get("/items/foo")).headers["etag"] == response.headers["etag"]


async def test_if_match_current_succeeds(alice, tag):
    response = await put(alice, "/items/foo?name=Next&size=7", **{"If-Match": tag})
    assert response.status_code == 200
    response = await remove(alice, "/items/foo", **{"If-Match": response.headers["etag"]})
    assert response.status_code == 204


async def test_if_match_list_and_star(alice, tag):
    response = await put(alice, "/items/foo?name=a&size=1", **{"If-Match": f'"zzz", {tag}'})
    assert response.status_code == 200
    response = await put(alice, "/items/foo?name=b&size=1", **{"If-Match": "*"})
    assert response.status_code == 200


async def test_if_match_stale_is_412_on_put_and_delete(alice, tag):
    await put(alice, "/items/foo?name=Other&size=9")
    for response in (
        await put(alice, "/items/foo?name=Lost&size=1", **{"If-Match": tag}),
        await remove(alice, "/items/foo", **{"If-Match": tag}),
    ):
        assert response.status_code == 412
        assert response.json()["code"] == "precondition_failed"
    item = (await alice.get("/items/foo")).json()
    assert (item["name"], item["size"]) == ("Other", 9)


async def test_if_match_stale_in_korean(alice, tag):
    await put(alice, "/items/foo?name=Other&size=9")
    response = await put(
        alice, "/items/foo?name=Lost&size=1", **{"If-Match": tag, "Accept-Language": "ko"}
    )
    assert response.json() == {
        "detail": "마지막으로 조회한 이후 리소스가 변경되었습니다.",
        "code": "precondition_failed",
    }


async def test_weak_tag_never_matches_if_match(alice, tag):
    for response in (
        await put(alice, "/items/foo?name=x&size=1", **{"If-Match": f"W/{tag}"}),
        await remove(alice, "/items/foo", **{"If-Match": f"W/{tag}"}),
    ):
        assert response.status_code == 412
    assert (await alice.get("/items/foo")).headers["etag"] == tag


async def test_if_none_match_star_on_existing_item_is_412(alice, tag):
    response = await put(alice, "/items/foo?name=x&size=1", **{"If-None-Match": "*"})
    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    # ... and creates when there is no item: "create only".
    response = await put(alice, "/items/new?name=x&size=1", **{"If-None-Match": "*"})
    assert response.status_code == 201


async def test_if_none_match_current_tag_on_put_is_412(alice, tag):
    response = await put(alice, "/items/foo?name=x&size=1", **{"If-None-Match": tag})
    assert response.status_code == 412


@pytest.mark.parametrize("header", ['"anything"', "*"])
async def test_if_match_on_missing_item_is_412(alice, header):
    response = await put(alice, "/items/ghost?name=x&size=1", **{"If-Match": header})
    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    assert (await alice.get("/items/ghost")).status_code == 404


async def test_ownership_is_checked_before_preconditions(bob, tag):
    response = await put(bob, "/items/foo?name=x&size=1", **{"If-Match": tag})
    assert response.status_code == 403


async def test_concurrent_writers_with_one_tag_exactly_one_wins(alice, tag):
    """Five writers read the same version; only one may write, the rest must learn of it."""
    writers = [
        put(alice, f"/items/foo?name=writer{n}&size={n}", **{"If-Match": tag}) for n in range(5)
    ]
    responses = await asyncio.gather(*writers)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 412, 412, 412, 412]
    winner = next(r for r in responses if r.status_code == 200)
    current = await alice.get("/items/foo")
    assert current.json() == winner.json()["item"]  # nobody overwrote the winner
    assert current.headers["etag"] == winner.headers["etag"]


async def test_concurrent_deletes_with_one_tag(alice, tag):
    responses = await asyncio.gather(
        *(remove(alice, "/items/foo", **{"If-Match": tag}) for _ in range(4))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] == 204
    assert statuses.count(204) == 1
    assert all(s in (404, 412) for s in statuses[1:])


async def test_concurrent_creates_of_one_id_never_5xx(alice, bob):
    responses = await asyncio.gather(
        *(put(c, f"/items/race?name={n}&size={n}") for n, c in enumerate([alice, bob] * 4))
    )
    statuses = [r.status_code for r in responses]
    assert all(s < 500 for s in statuses), statuses
    assert statuses.count(201) == 1
    owner = (await alice.get("/items/race")).json()["owner"]
    mine, theirs = (alice, bob) if owner == "alice" else (bob, alice)
    for client, response in zip([alice, bob] * 4, responses, strict=True):
        if response.status_code != 201:
            assert response.status_code == (200 if client is mine else 403)
    assert theirs is not mine


async def test_concurrent_creates_with_if_none_match_star(alice):
    responses = await asyncio.gather(
        *(put(alice, f"/items/once?name={n}&size={n}", **{"If-None-Match": "*"}) for n in range(5))
    )
    assert sorted(r.status_code for r in responses) == [201, 412, 412, 412, 412]


@pytest.mark.parametrize(
    ("method", "header"),
    [("GET", "If-None-Match"), ("PUT", "If-Match"), ("PUT", "If-None-Match"),
     ("DELETE", "If-Match")],
)  # fmt: skip
async def test_preconditions_over_2048_characters_are_422(alice, tag, method, header):
    body = {"name": "Foo", "size": 1} if method == "PUT" else None
    sent = {header: '"' + "x" * 2047 + '"'}
    response = await alice.request(
        method, "/items/foo", json=body, headers={**csrf_headers(alice), **sent}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["detail"][0]["loc"] == ["header", header.lower()]
    # 2048 characters are still a precondition, judged as one (a stale tag here)
    sent = {header: '"' + "x" * 2046 + '"'}
    response = await alice.request(
        method, "/items/foo", json=body, headers={**csrf_headers(alice), **sent}
    )
    assert response.status_code in (200, 412)


def test_preconditions_are_documented(app):
    paths = app.openapi()["paths"]["/items/{item_id}"]
    declared = {
        method: {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "header"}
        for method, operation in paths.items()
    }
    limit = {"type": "string", "maxLength": 2048}
    assert declared == {
        "get": {"if-none-match": limit},
        "put": {"if-match": limit, "if-none-match": limit},
        "delete": {"if-match": limit},
    }
