"""RegistryCORSMiddleware on a tiny Starlette app: the exact CORS headers of each scenario."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from authgate.cors import service
from authgate.cors.middleware import RegistryCORSMiddleware, middleware_options
from authgate.cors.registry import OriginRegistry
from authgate.db import Database, utcnow
from authgate.hostfeed import HostFeed

APP = "https://app.example"
EVIL = "https://evil.example"
EXPOSED = (
    "X-Process-Time, X-API-Version, X-Request-ID, Content-Language, ETag, Location, "
    "Retry-After, X-CSRF-Token"
)
PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
    "Access-Control-Request-Private-Network"
)


@dataclass
class Rig:
    client: httpx.AsyncClient
    registry: OriginRegistry
    db: Database
    feed: HostFeed


Build = Callable[..., Awaitable[Rig]]


def homepage(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Homepage")


def varies(request: Request) -> PlainTextResponse:
    return PlainTextResponse("Varies", headers={"Vary": request.query_params["vary"]})


def cors_headers(response: httpx.Response) -> dict[str, str]:
    """Every CORS-related header of a response (and Vary), so that tests compare them all."""
    return {
        name: value
        for name, value in response.headers.items()
        if name.startswith("access-control-") or name == "vary"
    }


def preflight(method: str = "PUT", headers: str | None = "content-type,x-csrf-token") -> dict:
    sent = {"Origin": APP, "Access-Control-Request-Method": method}
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return sent


@pytest.fixture
async def build(make_settings) -> AsyncIterator[Build]:  # type: ignore[no-untyped-def]
    """A tiny app behind the middleware, with a registry over a real migrated database."""
    opened: list[Rig] = []

    async def make(**overrides: object) -> Rig:
        settings = make_settings(**overrides)
        feed = HostFeed(settings.data_dir)
        db = Database(settings.effective_database_url, feed)
        registry = OriginRegistry(settings, db)
        await registry.refresh()
        app = Starlette(
            routes=[Route("/", homepage), Route("/varies", varies)],
            middleware=[
                Middleware(
                    RegistryCORSMiddleware, registry=registry, **middleware_options(settings)
                )
            ],
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")
        opened.append(Rig(client, registry, db, feed))
        return opened[-1]

    yield make
    for rig in opened:
        await rig.client.aclose()
        await rig.db.dispose()
        rig.feed.close()


async def test_simple_request_from_allowed_origin(build: Build) -> None:
    client = (await build(cors_origins=APP)).client
    response = await client.get("/", headers={"Origin": APP})
    assert response.status_code == 200
    assert response.text == "Homepage"
    assert cors_headers(response) == {
        "access-control-allow-origin": APP,
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": EXPOSED,
        "vary": "Origin",
    }


async def test_simple_request_from_disallowed_origin_gets_no_allow_header(build: Build) -> None:
    client = (await build(cors_origins=APP)).client
    response = await client.get("/", headers={"Origin": EVIL})
    assert response.status_code == 200  # the browser, not the server, hides the answer
    assert cors_headers(response) == {"vary": "Origin"}


async def test_request_without_origin_still_varies_on_origin(build: Build) -> None:
    client = (await build(cors_origins=APP)).client
    response = await client.get("/")
    assert cors_headers(response) == {"vary": "Origin"}


async def test_preflight_from_allowed_origin_names_method_and_headers(build: Build) -> None:
    client = (await build(cors_origins=APP)).client
    response = await client.options("/", headers=preflight())
    assert response.status_code == 200
    assert response.text == "OK"
    assert cors_headers(response) == {
        "access-control-allow-origin": APP,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "PUT",
        "access-control-allow-headers": "content-type,x-csrf-token",
        "access-control-max-age": "600",
        "vary": PREFLIGHT_VARY,
    }


async def test_preflight_without_requested_headers(build: Build) -> None:
    client = (await build(cors_origins=APP, cors_max_age=30)).client
    response = await client.options("/", headers=preflight("DELETE", headers=None))
    assert response.status_code == 200
    assert cors_headers(response) == {
        "access-control-allow-origin": APP,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "DELETE",
        "access-control-max-age": "30",
        "vary": PREFLIGHT_VARY,
    }


async def test_preflight_from_disallowed_origin_is_400_without_allow_headers(build: Build) -> None:
    client = (await build(cors_origins=APP)).client
    response = await client.options("/", headers={**preflight(), "Origin": EVIL})
    assert response.status_code == 400
    assert response.text == "Disallowed CORS origin"
    assert cors_headers(response) == {"vary": PREFLIGHT_VARY}


async def test_preflight_for_a_method_not_allowed(build: Build) -> None:
    client = (await build(cors_origins=APP, cors_allow_methods="GET,POST")).client
    response = await client.options("/", headers=preflight("DELETE", headers=None))
    assert response.status_code == 400
    assert response.text == "Disallowed CORS method"
    assert response.headers["access-control-allow-methods"] == "GET, POST"
    allowed = await client.options("/", headers=preflight("POST", headers=None))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-methods"] == "POST"


async def test_preflight_with_a_header_list(build: Build) -> None:
    client = (await build(cors_origins=APP, cors_allow_headers="X-CSRF-Token")).client
    refused = await client.options("/", headers=preflight(headers="x-csrf-token,x-other"))
    assert refused.status_code == 400
    assert refused.text == "Disallowed CORS headers"
    allowed = await client.options("/", headers=preflight(headers="content-type,x-csrf-token"))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-headers"] == "content-type,x-csrf-token"


async def test_regex_origin(build: Build) -> None:
    client = (await build(cors_origin_regex=r"https://[a-z0-9-]+\.example\.org")).client
    allowed = await client.get("/", headers={"Origin": "https://shop.example.org"})
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example.org"
    for origin in ("https://example.org.evil.example", "http://shop.example.org"):
        refused = await client.get("/", headers={"Origin": origin})
        assert cors_headers(refused) == {"vary": "Origin"}, origin


async def test_dynamic_origin_added_then_removed(build: Build) -> None:
    rig = await build(cors_origins=APP)
    client, origin = rig.client, "http://localhost:5173"
    await rig.db.write(lambda c: service.add_origin(c, origin, utcnow()))
    assert await rig.registry.refresh()
    response = await client.options("/", headers={**preflight(), "Origin": origin})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    response = await client.get("/", headers={"Origin": origin})
    assert response.headers["access-control-allow-origin"] == origin
    await rig.db.write(lambda c: service.remove_origin(c, origin))
    assert await rig.registry.refresh()
    response = await client.get("/", headers={"Origin": origin})
    assert cors_headers(response) == {"vary": "Origin"}


async def test_without_credentials(build: Build) -> None:
    client = (await build(cors_origins=APP, cors_allow_credentials=False)).client
    response = await client.get("/", headers={"Origin": APP})
    assert cors_headers(response) == {
        "access-control-allow-origin": APP,
        "access-control-expose-headers": EXPOSED,
        "vary": "Origin",
    }


async def test_any_origin_without_credentials_is_a_star(build: Build) -> None:
    client = (await build(cors_origins="*", cors_allow_credentials=False)).client
    response = await client.get("/", headers={"Origin": EVIL})
    assert cors_headers(response) == {
        "access-control-allow-origin": "*",
        "access-control-expose-headers": EXPOSED,
        "vary": "Origin",
    }
    response = await client.options("/", headers={**preflight(), "Origin": EVIL})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


async def test_star_with_credentials_is_refused(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(cors_origins="*", cors_allow_credentials=False)
    feed = HostFeed(settings.data_dir)
    db = Database(settings.effective_database_url, feed)
    try:
        registry = OriginRegistry(settings, db)
        with pytest.raises(ValueError, match="credentials"):
            RegistryCORSMiddleware(homepage, registry=registry, allow_credentials=True)
    finally:
        await db.dispose()
        feed.close()


@pytest.mark.parametrize(
    ("app_vary", "allowed", "refused"),
    [
        ("Accept-Encoding", "Accept-Encoding, Origin", "Accept-Encoding, Origin"),
        ("origin", "origin", "origin"),
        ("Accept-Encoding, Origin", "Accept-Encoding, Origin", "Accept-Encoding, Origin"),
        ("*", "*", "*"),
    ],
)
async def test_vary_is_merged_without_duplicates(
    build: Build, app_vary: str, allowed: str, refused: str
) -> None:
    client = (await build(cors_origins=APP)).client
    response = await client.get("/varies", params={"vary": app_vary}, headers={"Origin": APP})
    assert response.headers.get_list("vary") == [allowed]
    response = await client.get("/varies", params={"vary": app_vary}, headers={"Origin": EVIL})
    assert response.headers.get_list("vary") == [refused]


@pytest.mark.parametrize(
    ("app_vary", "sent"),
    [("Accept-Encoding", "Accept-Encoding, Origin"), ("origin", "origin"), ("*", "*")],
)
async def test_vary_is_merged_without_an_origin_too(build: Build, app_vary: str, sent: str) -> None:
    client = (await build(cors_origins=APP)).client
    response = await client.get("/varies", params={"vary": app_vary})
    assert response.headers.get_list("vary") == [sent]
    assert cors_headers(response) == {"vary": sent}


async def test_expose_headers_from_settings(build: Build) -> None:
    client = (await build(cors_origins=APP, cors_expose_headers="X-One, X-Two")).client
    response = await client.get("/", headers={"Origin": APP})
    assert response.headers["access-control-expose-headers"] == "X-One, X-Two"
