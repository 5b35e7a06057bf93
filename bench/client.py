"""A few plain HTTP calls to set a run up: log-ins, tokens, items (the load itself is wrk's)."""

import http.client
import json
from http.cookies import SimpleCookie
from typing import Any


class SetupError(RuntimeError):
    """A set-up call got an unexpected answer."""


def call(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, http.client.HTTPMessage, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        sent = {"Content-Type": "application/json", **(headers or {})}
        payload = json.dumps(body) if body is not None else None
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = raw.decode(errors="replace")
    return response.status, response.headers, data


def get_status(port: int, path: str) -> int:
    try:
        return call(port, "GET", path)[0]
    except OSError:
        return 0


def expect(status: int, wanted: int, what: str, data: Any) -> None:
    if status != wanted:
        raise SetupError(f"{what}: expected {wanted}, got {status}: {str(data)[:300]}")


def cookie_login(port: int, username: str, password: str) -> dict[str, str]:
    """Headers for a fresh cookie session: Cookie, and the X-CSRF-Token that writes need."""
    status, headers, data = call(
        port, "POST", "/login", {"username": username, "password": password}
    )
    expect(status, 200, "POST /login", data)
    jar: SimpleCookie = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        jar.load(value)
    session, csrf = jar["sessionid"].value, jar["csrftoken"].value
    return {"Cookie": f"sessionid={session}; csrftoken={csrf}", "X-CSRF-Token": csrf}


def token_login(port: int, username: str, password: str) -> tuple[str, str]:
    """(access, refresh) of a fresh token session."""
    status, _, data = call(
        port, "POST", "/account/login", {"username": username, "password": password}
    )
    expect(status, 200, "POST /account/login", data)
    return data["access"], data["refresh"]


def has_route(port: int, method: str, path: str) -> bool:
    """Whether the server knows `method path` (anything but 404/405 to an empty request)."""
    return call(port, method, path, {})[0] not in (404, 405)
