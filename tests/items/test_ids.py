"""Item ids: 1-64 of [A-Za-z0-9._-] other than `.` and `..`; sizes are JSON integers only."""

import re

import httpx
import pytest
from fastapi import FastAPI

from authgate.items.schemas import ITEM_ID_PATTERN
from tests.helpers import csrf_headers

# httpx resolves `.` and `..` in a URL; percent-encoded, they reach the server as typed.
DOT_IDS = ["%2E", "%2E%2E", "%2e%2e"]


@pytest.mark.parametrize("item_id", DOT_IDS)
async def test_dot_ids_are_refused(alice: httpx.AsyncClient, item_id: str) -> None:
    url = f"/items/{item_id}"
    response = await alice.put(url, params={"name": "x", "size": 1}, headers=csrf_headers(alice))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    assert "location" not in response.headers
    assert (await alice.get(url)).status_code == 422
    response = await alice.delete(url, headers=csrf_headers(alice))
    assert response.status_code == 422


@pytest.mark.parametrize("item_id", ["...", ".a", "..a", "a..", "a.", "-", "_", "a" * 64])
async def test_ids_with_dots_that_are_not_dot_segments_are_fine(
    alice: httpx.AsyncClient, item_id: str
) -> None:
    url = f"/items/{item_id}"
    response = await alice.put(url, params={"name": "x", "size": 1}, headers=csrf_headers(alice))
    assert response.status_code == 201, response.text
    assert response.headers["location"] == url
    assert (await alice.get(url)).json()["id"] == item_id


@pytest.mark.parametrize("item_id", ["a" * 65, "a%2Fb", "caf%C3%A9", "a%20b"])
async def test_other_bad_ids_are_refused(alice: httpx.AsyncClient, item_id: str) -> None:
    response = await alice.get(f"/items/{item_id}")
    assert response.status_code in (404, 422)  # `a/b` matches no route at all
    assert response.status_code != 404 or "%2F" in item_id


def test_the_pattern_is_in_the_openapi_document(app: FastAPI) -> None:
    operation = app.openapi()["paths"]["/items/{item_id}"]["put"]
    (param,) = [p for p in operation["parameters"] if p["name"] == "item_id"]
    assert param["schema"]["pattern"] == ITEM_ID_PATTERN
    # The documented pattern alone refuses the dot segments (no lookahead: any engine).
    assert not re.search(ITEM_ID_PATTERN, ".") and not re.search(ITEM_ID_PATTERN, "..")
    assert re.search(ITEM_ID_PATTERN, "...")


@pytest.mark.parametrize("size", [True, "6", None, 1.5, 2**31])
async def test_json_sizes_are_integers_only(alice: httpx.AsyncClient, size: object) -> None:
    response = await alice.put(
        "/items/strict", json={"name": "x", "size": size}, headers=csrf_headers(alice)
    )
    assert response.status_code == 422, response.text


async def test_a_json_integer_may_be_written_with_a_zero_fraction(alice: httpx.AsyncClient):
    # JSON schema's `integer` (the documented type) is any number without a fractional part.
    response = await alice.put(
        "/items/whole", json={"name": "x", "size": 6.0}, headers=csrf_headers(alice)
    )
    assert response.status_code == 201, response.text
    assert response.json()["item"]["size"] == 6


async def test_query_sizes_are_still_parsed(alice: httpx.AsyncClient) -> None:
    response = await alice.put(
        "/items/query", params={"name": "x", "size": "6"}, headers=csrf_headers(alice)
    )
    assert response.status_code == 201
    assert response.json()["item"]["size"] == 6
