"""StandardHeadersMiddleware on a tiny inline app: the exact headers of each scenario."""

import os
import re
import warnings

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from authgate.middleware.headers import RequestIds, StandardHeadersMiddleware

VERSION = "1.2.3"
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
PROCESS_TIME = re.compile(r"^\d+\.\d{6}$")
APP_CACHE_CONTROL = "public, max-age=60"
STANDARD = {"x-request-id", "x-api-version", "x-process-time", "content-language"}


async def page(request):
    return PlainTextResponse("ok", headers={"Cache-Control": APP_CACHE_CONTROL})


def inline_app(default_language: str = "en") -> StandardHeadersMiddleware:
    app = Starlette(routes=[Route("/{path:path}", page, methods=["GET"])])
    return StandardHeadersMiddleware(app, version=VERSION, default_language=default_language)


async def get(path: str = "/", headers=None, *, default_language: str = "en") -> httpx.Response:
    transport = httpx.ASGITransport(app=inline_app(default_language))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path, headers=headers)


async def raw_request(app, headers: list[tuple[bytes, bytes]], path: str = "/") -> dict:
    """Call the ASGI app directly, for header values no HTTP client would send."""
    messages = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)
    start = messages[0]
    return {name.decode(): value for name, value in start["headers"]}


async def test_a_plain_response_gets_exactly_the_standard_headers():
    response = await get("/")
    assert response.status_code == 200
    assert set(response.headers) == STANDARD | {"content-length", "content-type", "cache-control"}
    assert REQUEST_ID.match(response.headers["x-request-id"])
    assert PROCESS_TIME.match(response.headers["x-process-time"])
    assert response.headers["x-api-version"] == VERSION
    assert response.headers["content-language"] == "en-US"
    assert response.headers["cache-control"] == APP_CACHE_CONTROL
    for name in STANDARD:
        assert len(response.headers.get_list(name)) == 1


@pytest.mark.parametrize("request_id", ["a", "abc-123_X.y", "a" * 128, "0", "..", "A-Z.a_z-09"])
async def test_a_valid_request_id_is_echoed(request_id):
    response = await get("/", {"X-Request-ID": request_id})
    assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize(
    "request_id",
    [
        b"",
        b"a" * 129,
        b"has space",
        b"semi;colon",
        b"slash/",
        "caf\u00e9".encode(),
        "요청".encode(),
        b"abc\n",
        b"abc\r\nX-Evil: 1",
        b"\x00",
    ],
)
async def test_an_invalid_request_id_is_replaced_by_a_fresh_one(request_id):
    headers = await raw_request(inline_app(), [(b"x-request-id", request_id)])
    fresh = headers["x-request-id"]
    assert fresh != request_id
    assert REQUEST_ID.match(fresh.decode())
    assert b"x-evil" not in headers


async def test_fresh_request_ids_differ():
    ids = {(await get("/")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


async def test_fresh_request_ids_of_one_app_differ():
    transport = httpx.ASGITransport(app=inline_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        ids = [(await client.get("/")).headers["x-request-id"] for _ in range(50)]
    assert len(set(ids)) == 50
    assert all(REQUEST_ID.match(value) for value in ids)


def test_workers_never_share_a_request_id():
    first, second = RequestIds(), RequestIds()  # as two worker processes would build them
    assert not {first.next() for _ in range(100)} & {second.next() for _ in range(100)}


def test_a_forked_child_does_not_repeat_its_parents_ids():
    ids = RequestIds()
    ids.next()
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: none used here
        pid = os.fork()
    if pid == 0:
        os.write(write, ids.next())
        os._exit(0)
    os.close(write)
    child = os.read(read, 256)
    os.close(read)
    os.waitpid(pid, 0)
    parent = ids.next()
    assert child.split(b"-")[0] != parent.split(b"-")[0]


async def test_process_time_is_a_plain_decimal_everywhere():
    for path in ["/", "/signup", "/a/b/c"]:
        value = (await get(path)).headers["x-process-time"]
        assert PROCESS_TIME.match(value), value
        assert "e" not in value.lower()


@pytest.mark.parametrize(
    ("accept_language", "default", "content_language"),
    [
        (None, "en", "en-US"),
        (None, "ko", "ko-KR"),
        ("ko", "en", "ko-KR"),
        ("ko-KR,ko;q=0.9,en;q=0.8", "en", "ko-KR"),
        ("en-GB", "ko", "en-US"),
        ("fr", "ko", "ko-KR"),
        ("*", "ko", "ko-KR"),
    ],
)
async def test_content_language(accept_language, default, content_language):
    headers = {"Accept-Language": accept_language} if accept_language else None
    response = await get("/", headers, default_language=default)
    assert response.headers["content-language"] == content_language


@pytest.mark.parametrize(
    "path",
    [
        "/signup",
        "/login",
        "/logout",
        "/api/info",
        "/account/me",
        "/account/sessions/1",
        "/admin/users",
        "/admin/cors/origins",
    ],
)
async def test_no_store_replaces_the_apps_own_cache_control_where_the_contract_says(path):
    response = await get(path)
    assert response.headers.get_list("cache-control") == ["no-store"]


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/items/foo",
        "/health",
        "/docs",
        "/signup/extra",
        "/loginx",
        "/api/infos",
        "/accounts/x",
        "/administrator",
        "/x/account/me",
    ],
)
async def test_no_store_nowhere_else(path):
    response = await get(path)
    assert response.headers.get_list("cache-control") == [APP_CACHE_CONTROL]


async def test_the_routers_404_and_405_carry_every_header():
    app = StandardHeadersMiddleware(
        Starlette(routes=[Route("/only-get", page, methods=["GET"])]),
        version=VERSION,
        default_language="en",
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for response in [await client.get("/nope"), await client.post("/only-get")]:
            assert response.status_code in (404, 405)
            assert set(response.headers) >= STANDARD


async def test_other_scopes_pass_through_untouched():
    seen = []

    async def inner(scope, receive, send):
        seen.append((scope["type"], send))

    async def send(message):
        pass

    async def receive():
        return {"type": "lifespan.startup"}

    scope = {"type": "lifespan"}
    await StandardHeadersMiddleware(inner, version=VERSION, default_language="en")(
        scope, receive, send
    )
    assert seen == [("lifespan", send)]
    assert "state" not in scope


# --- the same headers on the real app's error answers ------------------------------------------


@pytest.fixture
def failing_route(app):
    async def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test/boom", boom, methods=["GET"])


@pytest.mark.parametrize("language", ["en", "ko"])
async def test_every_header_on_error_answers(app, client, language, failing_route):
    headers = {"Accept-Language": language, "X-Request-ID": "req-1"}
    answers = {
        404: await client.get("/nope", headers=headers),
        405: await client.get("/signup", headers=headers),
        413: await client.post("/signup", content=b"x" * (1024 * 1024 + 1), headers=headers),
        415: await client.post("/signup", content=b"x", headers=headers),
        422: await client.post("/signup", json={}, headers=headers),
        401: await client.post("/login", json={"username": "a", "password": "b"}, headers=headers),
    }
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as bare:
        answers[500] = await bare.get("/test/boom", headers=headers)
    for status, response in answers.items():
        assert response.status_code == status
        assert set(response.headers) >= STANDARD, status
        assert response.headers["x-request-id"] == "req-1"
        assert response.headers["x-api-version"] == app.version
        assert response.headers["content-language"] == {"en": "en-US", "ko": "ko-KR"}[language]
        assert PROCESS_TIME.match(response.headers["x-process-time"])
        assert "code" in response.json()
    for status in (405, 413, 415, 422):
        assert answers[status].headers["cache-control"] == "no-store"
    assert "cache-control" not in answers[404].headers
    assert answers[500].json()["code"] == "internal_error"
    assert "a bug" not in answers[500].text
