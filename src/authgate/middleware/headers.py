"""Headers every response carries: timing, request id, API version, language, caching; and
the request's observation (metrics and its log line) once it is answered.

One pure ASGI layer for all of them rather than one each: every layer is paid on every
request, and these all decorate the same `http.response.start` message and time the same span.
"""

import itertools
import json
import os
import re
import secrets
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authgate.i18n import CONTENT_LANGUAGE, negotiate, translate

# \Z, not $: `$` also matches before a trailing newline, which must never be echoed back.
REQUEST_ID = re.compile(rb"\A[A-Za-z0-9._-]{1,128}\Z")
NO_STORE_PATHS = ("/signup", "/login", "/logout", "/api/info")
NO_STORE_PREFIXES = ("/account/", "/admin/")
CACHE, NO_STORE = b"cache-control", (b"cache-control", b"no-store")
# Headers (cookies above all) queued by a dependency in `scope["state"]`, added here to whatever
# response goes out, an error included.
PENDING_HEADERS = "authgate.pending_headers"
# The caller's user id, in `scope["state"]`, once authentication found one (for the log line).
USER_ID = "authgate.user_id"
# Called once per answered request with its scope (routed: `scope["route"]` is the route
# matched), status and seconds taken.
Observer = Callable[[Scope, int, float], None]


CONTENT_LANGUAGE_HEADERS = {
    language: (b"content-language", tag.encode()) for language, tag in CONTENT_LANGUAGE.items()
}


def is_no_store(path: str) -> bool:
    return path in NO_STORE_PATHS or path.startswith(NO_STORE_PREFIXES)


class RequestIds:
    """Fresh request ids: a random prefix per process and a counter, unique across workers.

    Cheaper than fresh randomness per request (a system call each), and just as unique: 64
    random bits tell the processes apart, the counter the requests of one process.
    """

    def __init__(self) -> None:
        self._pid = -1

    def next(self) -> bytes:
        if self._pid != os.getpid():  # first use, or a forked child: never repeat the parent
            self._pid = os.getpid()
            self._prefix = secrets.token_hex(8)
            self._counter = itertools.count(1)
        return f"{self._prefix}-{next(self._counter):x}".encode()


class StandardHeadersMiddleware:
    def __init__(
        self, app: ASGIApp, *, version: str, default_language: str, observe: Observer | None = None
    ) -> None:
        self.app = app
        self.observe = observe
        self.version = (b"x-api-version", version.encode())
        self.default_language = default_language
        self.request_ids = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id, accept_language = None, None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                request_id = value
            elif name == b"accept-language":
                accept_language = value.decode("latin-1")
        if request_id is None or not REQUEST_ID.match(request_id):
            request_id = self.request_ids.next()
        language = negotiate(accept_language, self.default_language)
        state = scope.setdefault("state", {})
        state["language"] = language
        state["request_id"] = request_id.decode()
        extra = [
            (b"x-request-id", request_id),
            self.version,
            CONTENT_LANGUAGE_HEADERS[language],
        ]
        no_store = is_no_store(scope["path"])
        response_started = False
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started, status
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                if no_store:
                    headers = [h for h in message.get("headers", ()) if h[0].lower() != CACHE]
                    headers.append(NO_STORE)
                else:
                    headers = list(message.get("headers", ()))
                headers += extra
                if PENDING_HEADERS in state:
                    headers += state[PENDING_HEADERS]
                elapsed = time.perf_counter() - started
                headers.append((b"x-process-time", f"{elapsed:.6f}".encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Starlette answers an unhandled error outside every middleware, so its 500 would
            # lack these headers: answer here, and re-raise so that the error is still logged.
            if not response_started:
                await _internal_error(send_with_headers, language)
            raise
        finally:
            if self.observe is not None:
                self.observe(scope, status, time.perf_counter() - started)


async def _internal_error(send: Send, language: str) -> None:
    body = json.dumps(
        {"detail": translate("internal_error", language), "code": "internal_error"},
        ensure_ascii=False,
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
