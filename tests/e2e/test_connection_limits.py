"""`authgate serve` against clients that misbehave at the HTTP level, over raw sockets.

Slow or oversized headers, slow or abandoned bodies and idle connections are answered (431,
408) or closed within the configured bounds, never held; none of it logs an error. Also
over the wire: no redirect built from the Host header, and 405's `Allow` in full.
"""

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.served import Server, start_server, stop_server
from tests.helpers import PASSWORD

pytestmark = pytest.mark.e2e

HOST = "127.0.0.1"
# The quick server: limits small enough for a test to hit them in a second.
QUICK = {
    "AUTHGATE_HEADER_TIMEOUT": "1",
    "AUTHGATE_BODY_TIMEOUT": "1",
    "AUTHGATE_KEEP_ALIVE_TIMEOUT": "1",
    "AUTHGATE_MAX_HEADER_BYTES": "4096",
    "AUTHGATE_MAX_HEADERS": "20",
}
# No wait in these tests may exceed this: every loop below is bounded by it.
PATIENCE = 8.0
ERRORS_IN_LOG = ("ERROR", "Traceback", "Exception in ASGI application", "unhandled error")


def _served(folder: Path, env: dict[str, str]) -> Iterator[Server]:
    started: list[Server] = []
    try:
        yield start_server((), data_dir=folder, env=env, timeout=None, started=started)
    finally:
        for server in started:
            stop_server(server)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _served(tmp_path_factory.mktemp("quick"), QUICK)


@pytest.fixture(scope="module")
def defaults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _served(tmp_path_factory.mktemp("defaults"), {})


class Conn:
    """A raw TCP connection to the server, read with deadlines."""

    def __init__(self, server: Server) -> None:
        self.sock = socket.create_connection((HOST, server.port), timeout=PATIENCE)
        self.received = b""
        self.closed = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_until_closed(self, patience: float = PATIENCE) -> bytes:
        """Everything the server sends until it closes; fails if it has not by then."""
        deadline = time.monotonic() + patience
        while not self.closed:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                pytest.fail(f"the server kept the connection open {patience}s: {self.received!r}")
            except ConnectionResetError:
                chunk = b""
            self.received += chunk
            self.closed = not chunk
        return self.received

    def read_response(self, patience: float = PATIENCE) -> bytes:
        """One whole response (the head and a Content-Length body)."""
        deadline = time.monotonic() + patience
        while True:
            head, sep, rest = self.received.partition(b"\r\n\r\n")
            if sep:
                length = int(_header(head, b"content-length") or b"0")
                if len(rest) >= length:
                    self.received = rest[length:]
                    return head + sep + rest[:length]
            if time.monotonic() > deadline or self.closed:
                pytest.fail(f"no whole response within {patience}s: {self.received!r}")
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            self.received += chunk
            self.closed = not chunk

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def connect() -> Iterator:  # type: ignore[type-arg]
    opened: list[Conn] = []

    def open_(server: Server) -> Conn:
        opened.append(Conn(server))
        return opened[-1]

    yield open_
    for conn in opened:
        conn.close()


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def _body(response: bytes) -> dict:
    return json.loads(response.partition(b"\r\n\r\n")[2])


def _request(method: str, path: str, body: bytes = b"", host: str = "t", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _assert_log_clean(server: Server) -> None:
    log = server.log.read_text(errors="replace")
    assert not [e for e in ERRORS_IN_LOG if e in log], log[-3000:]


# Headers: too large, too many, too slow.


def _send_in_background(conn: Conn, data: bytes) -> threading.Thread:
    """Send `data` while the test reads: the server answers and closes before it is all sent."""

    def send() -> None:
        with contextlib.suppress(OSError):  # the server closed first, as it should
            conn.sock.sendall(data)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    "head",
    [
        b"X-Big: " + b"a" * (8 * 1024 * 1024) + b"\r\n",  # one 8 MiB header
        b"".join(b"X-H%d: v\r\n" % n for n in range(2000)),  # 2,000 headers
        b"".join(b"X-H%d: %s\r\n" % (n, b"a" * 1000) for n in range(1000)),  # 1 MiB of them
        b"Cookie: " + b"c=" + b"b" * 20000 + b"\r\n",  # 20 KiB: over the 16 KiB default
    ],
    ids=["8MiB-header", "2000-headers", "1MiB-of-headers", "20KiB-cookie"],
)
def test_oversized_heads_get_431_by_default(defaults: Server, connect, head: bytes) -> None:  # type: ignore[no-untyped-def]
    conn = connect(defaults)
    thread = _send_in_background(conn, b"GET /health HTTP/1.1\r\nHost: t\r\n" + head + b"\r\n")
    started = time.monotonic()
    response = conn.read_until_closed()
    assert _status(response) == 431, response[:300]
    assert _body(response)["code"] == "headers_too_large"
    assert _header(response, b"connection") == b"close"
    assert _header(response, b"x-api-version")
    assert time.monotonic() - started < PATIENCE
    thread.join(PATIENCE)


def test_a_client_sending_all_before_reading_still_reads_431(defaults: Server, connect) -> None:  # type: ignore[no-untyped-def]
    """Like curl or http.client: the whole request first, then the answer."""
    conn = connect(defaults)
    head = b"X-Big: " + b"a" * (8 * 1024 * 1024) + b"\r\n"
    conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\n" + head + b"\r\n")  # raises if reset
    assert _status(conn.read_until_closed()) == 431


def test_an_oversized_url_gets_431(defaults: Server, connect) -> None:  # type: ignore[no-untyped-def]
    conn = connect(defaults)
    _send_in_background(conn, b"GET /health?" + b"q" * 20000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    assert _status(conn.read_until_closed()) == 431


def test_ordinary_heads_pass_by_default(defaults: Server, connect) -> None:  # type: ignore[no-untyped-def]
    """40 headers and 12 KiB: a browser with many cookies and a long token is fine."""
    conn = connect(defaults)
    extra = "".join(f"X-Extra-{n}: {'v' * 100}\r\n" for n in range(38))
    cookie = "Cookie: " + "; ".join(f"c{n}={'x' * 80}" for n in range(80)) + "\r\n"
    conn.send(f"GET /health HTTP/1.1\r\nHost: t\r\n{extra}{cookie}\r\n".encode())
    response = conn.read_response()
    assert _status(response) == 200, response[:300]


def test_the_limits_are_settings(quick: Server, connect) -> None:  # type: ignore[no-untyped-def]
    conn = connect(quick)
    conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\n" + b"X-N: v\r\n" * 19 + b"\r\n")
    assert _status(conn.read_response()) == 200  # 20 headers, Host included
    conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\n" + b"X-N: v\r\n" * 20 + b"\r\n")
    assert _status(conn.read_until_closed()) == 431
    conn = connect(quick)
    conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\nX-A: " + b"a" * 5000 + b"\r\n\r\n")
    assert _status(conn.read_until_closed()) == 431


def test_unfinished_headers_get_408(quick: Server, connect) -> None:  # type: ignore[no-untyped-def]
    conn = connect(quick)
    started = time.monotonic()
    conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\n")
    response = conn.read_until_closed(patience=5)
    assert 0.8 < time.monotonic() - started < 5
    assert _status(response) == 408
    assert _body(response) == {
        "detail": "The request was not received in time.",
        "code": "request_timeout",
    }


def test_dribbled_headers_get_408_on_time(quick: Server, connect) -> None:  # type: ignore[no-untyped-def]
    """Slowloris: a byte now and then does not buy more time; the limit is for the whole head."""
    conn = connect(quick)
    started = time.monotonic()
    conn.send(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: ")
    while time.monotonic() - started < 4:
        time.sleep(0.2)
        try:
            conn.send(b"a")
        except OSError:
            break  # closed: the 408 is waiting to be read
    response = conn.read_until_closed(patience=5)
    assert _status(response) == 408
    assert time.monotonic() - started < 4


def test_silent_and_idle_connections_are_closed(quick: Server, connect) -> None:  # type: ignore[no-untyped-def]
    silent = connect(quick)
    started = time.monotonic()
    assert silent.read_until_closed(patience=5) == b""  # nothing asked: closed without a word
    assert time.monotonic() - started < 5
    idle = connect(quick)
    idle.send(_request("GET", "/health"))
    assert _status(idle.read_response()) == 200
    started = time.monotonic()
    assert idle.read_until_closed(patience=5) == b""  # keep-alive: 1 s
    assert time.monotonic() - started < 5


def test_a_kept_alive_connection_times_its_next_head(quick: Server, connect) -> None:  # type: ignore[no-untyped-def]
    conn = connect(quick)
    for _ in range(3):  # within the keep-alive time, requests keep coming
        conn.send(_request("GET", "/health"))
        assert _status(conn.read_response()) == 200
    conn.send(b"GET /health HTTP/1.1\r\n")
    assert _status(conn.read_until_closed(patience=5)) == 408
    conn = connect(quick)
    conn.send(_request("GET", "/health"))
    assert _status(conn.read_response()) == 200
    conn.send(b"\r\n")  # blank lines begin no request, and hold nothing open either
    assert conn.read_until_closed(patience=5) == b""


def test_a_head_split_across_reads_is_measured_whole(quick: Server, connect) -> None:  # type: ignore[no-untyped-def]
    """Half of a 6 KiB head behind a whole request, the other half in a later read: 431."""
    conn = connect(quick)
    half = b"X-A: " + b"a" * 3000 + b"\r\n"
    conn.send(_request("GET", "/health") + b"GET /health HTTP/1.1\r\nHost: t\r\n" + half)
    assert _status(conn.read_response()) == 200
    time.sleep(0.2)
    conn.send(half.replace(b"X-A", b"X-B") + b"\r\n")
    assert _status(conn.read_until_closed(patience=5)) == 431


def test_pipelined_requests_still_work(quick: Server, connect) -> None:  # type: ignore[no-untyped-def]
    conn = connect(quick)
    conn.send(_request("GET", "/health") * 3)
    assert [_status(conn.read_response()) for _ in range(3)] == [200, 200, 200]


def test_an_oversized_head_behind_a_pipelined_request(quick: Server, connect) -> None:  # type: ignore[no-untyped-def]
    """The first request is answered; then, with no way to answer the second, the server closes."""
    conn = connect(quick)
    big = b"GET /health HTTP/1.1\r\nHost: t\r\nX-A: " + b"a" * 5000 + b"\r\n\r\n"
    conn.send(_request("GET", "/health") + big)
    assert _status(conn.read_response()) == 200
    rest = conn.read_until_closed(patience=5)
    assert rest == b"" or _status(rest) == 431


# Bodies: too slow, abandoned.

LOGIN = json.dumps({"username": "nobody", "password": PASSWORD}).encode()


@pytest.mark.parametrize("path", ["/account/login", "/signup", "/login"])
def test_an_unfinished_body_gets_408(quick: Server, connect, path: str) -> None:  # type: ignore[no-untyped-def]
    conn = connect(quick)
    started = time.monotonic()
    head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    conn.send(head.encode() + b"Content-Length: 1000\r\n\r\n" + LOGIN[:10])
    response = conn.read_until_closed(patience=5)
    assert _status(response) == 408, response
    assert 0.8 < time.monotonic() - started < 5
    _assert_log_clean(quick)


def test_a_slow_body_that_finishes_in_time_is_served(quick: Server, connect) -> None:  # type: ignore[no-untyped-def]
    conn = connect(quick)
    head = "POST /account/login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
    conn.send(f"{head}Content-Length: {len(LOGIN)}\r\n\r\n".encode() + LOGIN[:10])
    time.sleep(0.3)
    conn.send(LOGIN[10:])
    assert _status(conn.read_response()) == 401  # an answer to the request, not a timeout


@pytest.mark.parametrize("path", ["/account/login", "/signup", "/login", "/account/refresh"])
def test_a_client_hanging_up_mid_body_logs_no_error(quick: Server, connect, path: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        conn = connect(quick)
        head = f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        conn.send(head.encode() + b"Content-Length: 1000\r\n\r\n" + LOGIN[:10])
        time.sleep(0.1)
        conn.close()
    # The server is still fine, and said nothing alarming about it.
    check = connect(quick)
    check.send(_request("GET", "/health"))
    assert _status(check.read_response()) == 200
    time.sleep(0.3)
    _assert_log_clean(quick)


# The rest of the surface, over the wire.


def test_a_trailing_slash_is_answered_in_place(quick: Server, connect) -> None:  # type: ignore[no-untyped-def]
    conn = connect(quick)
    conn.send(
        _request(
            "POST", "/account/login/", LOGIN, host="evil.example", Content_Type="application/json"
        )
    )
    response = conn.read_response()
    assert _status(response) == 401, response
    assert _header(response, b"location") is None
    assert b"evil.example" not in response


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/account/me", b"GET, PATCH"),
        ("POST", "/items/x", b"DELETE, GET, PUT"),
        ("PUT", "/admin/cors/origins", b"DELETE, GET, POST"),
    ],
)
def test_405_allow_over_the_wire(
    quick: Server, connect, method: str, path: str, allow: bytes
) -> None:  # type: ignore[no-untyped-def]
    conn = connect(quick)
    conn.send(_request(method, path))
    response = conn.read_response()
    assert _status(response) == 405
    assert _header(response, b"allow") == allow
