"""405 names every method of the path; a client that hangs up mid-body is no error."""

import logging

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Message

from authgate.routing import CHOSEN, LeanRoute, RouteIndex
from tests.helpers import csrf_headers, signup


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/account/me", "GET, PATCH"),
        ("PUT", "/account/me/", "GET, PATCH"),
        ("POST", "/items/x", "DELETE, GET, PUT"),
        ("PATCH", "/items/x", "DELETE, GET, PUT"),
        ("PUT", "/admin/cors/origins", "DELETE, GET, POST"),
        ("GET", "/account/login", "POST"),
        ("DELETE", "/health", "GET"),
    ],
)
async def test_405_allows_the_union_of_the_path_s_routes(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.json()["code"] == "method_not_allowed"


async def test_the_allowed_methods_work(client: httpx.AsyncClient) -> None:
    await signup(client, "alice")
    assert (await client.get("/account/me")).status_code == 200
    response = await client.patch(
        "/account/me", json={"first_name": "A"}, headers=csrf_headers(client)
    )
    assert response.status_code == 200


async def _call_with_partial_body(app: FastAPI, path: str) -> list[Message]:
    """Send a request that declares 1000 bytes, give it 10, then report the client gone."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"1000")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    incoming = [
        {"type": "http.request", "body": b'{"username"', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)  # raises nothing: nothing for the server to log
    return sent


@pytest.mark.parametrize("path", ["/account/login", "/signup", "/login", "/account/refresh"])
async def test_a_client_hanging_up_mid_body_is_one_info_line(
    app: FastAPI, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.DEBUG)
    sent = await _call_with_partial_body(app, path)
    assert sent[0]["status"] == 499  # never delivered; what middleware and metrics see
    records = [r for r in caplog.records if r.name.startswith(("authgate", "uvicorn"))]
    # Beside the request's own line (authgate.request, status 499).
    (request,) = [r for r in records if r.name == "authgate.request"]
    assert request.fields["status"] == 499  # type: ignore[attr-defined]
    records.remove(request)
    assert [(r.levelno, r.exc_info) for r in records] == [(logging.INFO, None)]
    assert "client left" in records[0].getMessage()


PATHS = [
    "/", "/health", "/health/x", "/account/me", "/account/mex", "/account/passkeys",
    "/account/passkeys/login", "/account/passkeys/abc", "/account/passkeys/abc/x",
    "/account/sessions/12", "/items", "/items/", "/items/a", "/items/a/b", "/itemsx/a",
    "/admin/users/7", "/ui/static/ui.css", "/.well-known/jwks.json",
]  # fmt: skip


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("root_path", ["", "/base"])
def test_the_index_finds_the_route_the_router_would(
    app: FastAPI, method: str, root_path: str
) -> None:
    """The first full match of a walk over every route, or no match where the walk finds none
    (then the walk itself answers the 404 or 405)."""
    index, *routes = app.router.routes
    assert isinstance(index, RouteIndex)
    paths = [*PATHS, *(route.path.replace("{", "").replace("}", "") for route in routes)]
    for path in paths:
        scope = {"type": "http", "method": method, "path": root_path + path,
                 "root_path": root_path, "headers": []}  # fmt: skip
        walked = next((r for r in routes if r.matches(dict(scope))[0] is Match.FULL), None)
        match, child_scope = index.matches(dict(scope))
        if walked is None:
            assert match is Match.NONE, (method, path)
        else:
            assert (match, child_scope[CHOSEN]) == (Match.FULL, walked), (method, path)


def test_routes_that_take_the_request_alone_skip_fastapis_handler(app: FastAPI) -> None:
    """LeanRoute: endpoints of the request alone that return a Response are called as they
    are; any with parameters, dependencies or a model to return keep FastAPI's handler."""
    routes = [route for route in app.routes if isinstance(route, APIRoute)]
    assert all(isinstance(route, LeanRoute) for route in routes)
    lean = {
        f"{method} {route.path}"
        for route in routes
        if route.get_route_handler() is route.endpoint
        for method in route.methods
    }
    hot = {"GET /account/me", "GET /items/{item_id}", "POST /account/refresh",
           "POST /account/login"}  # fmt: skip
    assert hot <= lean
    assert not lean & {"PUT /items/{item_id}", "GET /items", "POST /account/reauthenticate",
                       "PATCH /admin/users/{user_id}"}  # fmt: skip
