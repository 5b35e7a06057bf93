"""BodyLimitMiddleware on tiny inline apps: declared and streamed bodies over the limit."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel

from authgate.handlers import install_handlers
from authgate.middleware.body_limit import BodyLimitMiddleware
from authgate.middleware.headers import StandardHeadersMiddleware
from tests.apps import running_app

LIMIT = 100
TOO_LARGE = {
    "en": {"detail": "The request body is too large.", "code": "payload_too_large"},
    "ko": {"detail": "요청 본문이 너무 큽니다.", "code": "payload_too_large"},
}


class Note(BaseModel):
    text: str


def inline_app(calls: list[str]) -> FastAPI:
    """Three ways of reading a body: raw, FastAPI's own model parsing, and a form."""
    app = FastAPI()
    install_handlers(app)

    @app.post("/raw")
    async def raw(request: Request) -> dict:
        calls.append("raw")
        return {"size": len(await request.body())}

    @app.post("/model")
    async def model(note: Note) -> dict:
        calls.append("model")
        return {"size": len(note.text)}

    @app.post("/form")
    async def form(request: Request) -> dict:
        calls.append("form")
        return {"size": len((await request.form()).get("text", ""))}

    # As in create_app: the headers layer outside, so that it decorates the 413 too.
    app.add_middleware(BodyLimitMiddleware, max_bytes=LIMIT, default_language="en")
    app.add_middleware(StandardHeadersMiddleware, version="1", default_language="en")
    return app


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
async def inline(calls) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=inline_app(calls))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.mark.parametrize("language", ["en", "ko"])
async def test_a_declared_length_over_the_limit_is_refused_before_the_app_runs(
    inline, calls, language
):
    response = await inline.post(
        "/raw", content=b"x" * (LIMIT + 1), headers={"Accept-Language": language}
    )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE[language]
    assert response.headers["content-type"] == "application/json"
    assert response.headers["connection"] == "close"
    assert response.headers["content-language"] == {"en": "en-US", "ko": "ko-KR"}[language]
    assert "x-request-id" in response.headers
    assert calls == []


async def test_the_limit_itself_passes(inline):
    response = await inline.post("/raw", content=b"x" * LIMIT)
    assert response.status_code == 200
    assert response.json() == {"size": LIMIT}


@pytest.mark.parametrize("route", ["/raw", "/model", "/form"])
async def test_a_streamed_body_over_the_limit_is_refused(inline, route):
    body = {
        "/raw": [b"x" * 60, b"x" * 60],
        "/model": [b'{"text": "', b"x" * LIMIT, b'"}'],
        "/form": [b"text=", b"x" * LIMIT],
    }[route]
    content_type = {"/form": "application/x-www-form-urlencoded"}.get(route, "application/json")
    response = await inline.post(
        route,
        content=chunks(*body),
        headers={"Content-Type": content_type, "Accept-Language": "ko"},
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json() == TOO_LARGE["ko"]


@pytest.mark.parametrize("route", ["/raw", "/model", "/form"])
async def test_a_streamed_body_under_the_limit_passes(inline, route):
    body = {"/raw": b"x" * 50, "/model": b'{"text": "hello"}', "/form": b"text=hello"}[route]
    content_type = {"/form": "application/x-www-form-urlencoded"}.get(route, "application/json")
    response = await inline.post(
        route, content=chunks(body[:5], body[5:]), headers={"Content-Type": content_type}
    )
    assert response.status_code == 200


async def test_a_malformed_content_length_falls_back_to_counting():
    received = []

    async def inner(scope, receive, send):
        received.append(await receive())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = BodyLimitMiddleware(inner, max_bytes=LIMIT, default_language="en")
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"small", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [(b"content-length", b"x")]}
    await app(scope, receive, send)
    assert received[0]["body"] == b"small"
    assert sent[0]["status"] == 204


async def test_without_the_headers_layer_the_default_language_is_used():
    sent = []

    async def inner(scope, receive, send):
        raise AssertionError("the app must not run")

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    app = BodyLimitMiddleware(inner, max_bytes=LIMIT, default_language="ko")
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"content-length", b"101")],
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert sent[1]["body"].decode() == (
        '{"detail": "요청 본문이 너무 큽니다.", "code": "payload_too_large"}'
    )


# --- the real app ------------------------------------------------------------------------------


def signup_body(size: int) -> bytes:
    return b'{"username": "alice", "password": "' + b"p" * size + b'"}'


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("kind", ["json", "form", "multipart"])
async def test_signup_over_the_default_mib_is_413(client, kind, streamed):
    filler = b"x" * (1024 * 1024)
    body, content_type = {
        "json": (signup_body(1024 * 1024), "application/json"),
        "form": (b"username=alice&password=" + filler, "application/x-www-form-urlencoded"),
        "multipart": (
            b'--b\r\nContent-Disposition: form-data; name="username"\r\n\r\n'
            + filler
            + b"\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
        ),
    }[kind]
    content = chunks(body[:1000], body[1000:]) if streamed else body
    response = await client.post("/signup", content=content, headers={"Content-Type": content_type})
    assert response.status_code == 413
    assert response.json() == TOO_LARGE["en"]
    assert response.headers["cache-control"] == "no-store"


async def test_the_limit_is_a_setting(make_settings):
    async with running_app(make_settings(max_body_bytes=2048)) as (_, client):
        fits = await client.post(
            "/signup", content=signup_body(1900), headers={"Content-Type": "application/json"}
        )
        assert fits.status_code == 422  # read and judged: the password is too long
        assert fits.json()["code"] == "password_policy"
        over = await client.post(
            "/signup", content=signup_body(2100), headers={"Content-Type": "application/json"}
        )
        assert over.status_code == 413
