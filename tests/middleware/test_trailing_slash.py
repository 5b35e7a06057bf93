"""TrailingSlashMiddleware on a tiny inline app, then on authgate: one slash, never a redirect."""

import httpx
import pytest
from fastapi import FastAPI, Request

from authgate.middleware.trailing_slash import TrailingSlashMiddleware


def inline_app() -> httpx.AsyncClient:
    app = FastAPI(redirect_slashes=False)

    @app.api_route("/{rest:path}", methods=["GET", "POST"])
    async def echo(request: Request, rest: str) -> dict:
        return {"path": request.scope["path"], "raw_path": request.scope["raw_path"].decode()}

    app.add_middleware(TrailingSlashMiddleware)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.mark.parametrize(
    ("sent", "routed"),
    [
        ("/", "/"),
        ("/a", "/a"),
        ("/a/", "/a"),
        ("/a/b/", "/a/b"),
        ("/a//", "/a/"),  # one slash only
        ("/a%2F", "/a/"),  # an encoded slash is part of a segment, not a trailing slash
    ],
)
async def test_one_trailing_slash_is_dropped(sent: str, routed: str) -> None:
    async with inline_app() as client:
        body = (await client.get(sent)).json()
    assert body["path"] == routed


async def test_raw_path_follows() -> None:
    async with inline_app() as client:
        body = (await client.get("/a/b/?q=1")).json()
    assert body == {"path": "/a/b", "raw_path": "/a/b"}


@pytest.mark.parametrize("path", ["/account/login/", "/login/", "/signup/", "/account/token/"])
async def test_authgate_answers_slashed_posts_in_place(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.post(
        path, json={"username": "nobody", "password": "x" * 12}, headers={"Host": "evil.example"}
    )
    assert response.status_code in (201, 400, 401, 422), response.text  # answered, not moved
    assert "location" not in response.headers
    assert response.headers["cache-control"] == "no-store"  # the no-store paths match too


async def test_authgate_slashed_gets(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health/")).json() == {"status": "ok"}
    assert (await client.get("/api/info/")).status_code == 200
    assert (await client.get("/account/me/")).status_code == 401
    assert (await client.get("/nowhere/")).status_code == 404


async def test_openapi_names_each_route_once(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json/")).json()["paths"]
    assert "/account/login" in paths
    assert not [p for p in paths if p.endswith("/") and p != "/"]
