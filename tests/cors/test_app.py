"""CORS inside the whole app: where it sits in the stack, the CSRF echo, cross-site cookies."""

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import httpx
import pytest

from authgate import create_app
from authgate.settings import Settings
from tests.helpers import PASSWORD, csrf_headers, signup

APP = "http://localhost:5173"
EVIL = "http://evil.example"


@pytest.fixture
def settings(make_settings) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(rate_limit_enabled=False, cors_origins=APP, max_body_bytes=4096)


@pytest.fixture
async def make_client(make_settings) -> AsyncIterator[Callable]:  # type: ignore[no-untyped-def]
    """A client on an app built with these setting overrides (lifespan included)."""
    async with AsyncExitStack() as stack:

        async def build(**overrides: object) -> httpx.AsyncClient:
            app = create_app(make_settings(rate_limit_enabled=False, **overrides))
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://testserver")
            )

        yield build


def allow_headers(response: httpx.Response) -> set[str]:
    return {n for n in response.headers if n.startswith("access-control-allow-")}


async def test_preflight_answers_carry_the_standard_headers(client: httpx.AsyncClient) -> None:
    headers = {"Origin": APP, "Access-Control-Request-Method": "PUT", "X-Request-ID": "pre-1"}
    response = await client.options("/items/foo", headers=headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    assert response.headers["x-request-id"] == "pre-1"
    assert "x-process-time" in response.headers
    assert "x-api-version" in response.headers


async def test_disallowed_preflight_is_400_with_standard_headers_only(
    client: httpx.AsyncClient,
) -> None:
    headers = {"Origin": EVIL, "Access-Control-Request-Method": "PUT"}
    response = await client.options("/items/foo", headers=headers)
    assert response.status_code == 400
    assert allow_headers(response) == set()
    assert "x-request-id" in response.headers


async def test_errors_and_413_carry_cors_headers(client: httpx.AsyncClient) -> None:
    response = await client.put("/items/foo?name=a&size=1", headers={"Origin": APP})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == APP
    assert response.headers["access-control-allow-credentials"] == "true"
    response = await client.post(
        "/signup", content=b"x" * 5000, headers={"Origin": APP, "Content-Type": "text/plain"}
    )
    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == APP
    assert "x-request-id" in response.headers
    response = await client.put("/items/foo?name=a&size=1", headers={"Origin": EVIL})
    assert response.status_code == 401
    assert allow_headers(response) == set()
    assert response.headers["vary"] == "Origin"


async def test_the_csrf_token_is_echoed_for_spas_on_other_origins(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/signup", json={"username": "ann", "password": PASSWORD}, headers={"Origin": APP}
    )
    assert response.status_code == 201
    assert response.headers["x-csrf-token"] == client.cookies["csrftoken"]
    assert "X-CSRF-Token" in response.headers["access-control-expose-headers"]
    response = await client.post(
        "/login", json={"username": "ann", "password": PASSWORD}, headers={"Origin": APP}
    )
    token = response.headers["x-csrf-token"]
    assert token == client.cookies["csrftoken"]
    # Any answer to a cookie-authenticated request tells it again (e.g. after a page reload).
    response = await client.put(
        "/items/foo?name=a&size=1", headers={"Origin": APP, "X-CSRF-Token": token}
    )
    assert response.status_code == 201
    assert response.headers["x-csrf-token"] == token
    # After a page reload, the SPA asks who it is and learns the token again.
    response = await client.get("/account/me", headers={"Origin": APP})
    assert response.status_code == 200
    assert response.headers["x-csrf-token"] == token
    response = await client.get("/items/foo", headers={"Origin": APP})
    assert "x-csrf-token" not in response.headers  # no session used, nothing to tell


@pytest.mark.parametrize(
    ("overrides", "attributes"),
    [
        ({}, {"samesite=lax"}),
        ({"cookie_samesite": "strict"}, {"samesite=strict"}),
        ({"cookie_secure": True}, {"samesite=lax", "secure"}),
        ({"cookie_samesite": "none", "cookie_secure": True}, {"samesite=none", "secure"}),
    ],
)
async def test_cookie_samesite_and_secure(make_client, overrides, attributes) -> None:  # type: ignore[no-untyped-def]
    client = await make_client(**overrides)
    response = await client.post("/signup", json={"username": "bo", "password": PASSWORD})
    assert response.status_code == 201
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 2
    for cookie in cookies:
        parts = {p.strip().lower() for p in cookie.split(";")[1:]}
        assert {p for p in parts if p.startswith("samesite") or p == "secure"} == attributes


async def test_secure_cookies_over_https(make_client) -> None:  # type: ignore[no-untyped-def]
    client = await make_client()
    client.base_url = httpx.URL("https://testserver")
    await signup(client, "cy")
    response = await client.put("/items/x?name=a&size=1", headers=csrf_headers(client))
    assert response.status_code == 201
    response = await client.post("/login", json={"username": "cy", "password": PASSWORD})
    assert all("secure" in c.lower() for c in response.headers.get_list("set-cookie"))
