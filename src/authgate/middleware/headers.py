"""Headers every response carries: timing, request id, API version, language, caching.

One pure ASGI layer for all of them rather than one each: every layer is paid on every
request, and these all decorate the same `http.response.start` message.
"""

import json
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authgate.i18n import CONTENT_LANGUAGE, negotiate, translate
from authgate.sessions.transport import PENDING_COOKIES

# \Z, not $: `$` also matches before a trailing newline, which must never be echoed back.
REQUEST_ID = re.compile(rb"\A[A-Za-z0-9._-]{1,128}\Z")
NO_STORE_PATHS = ("/signup", "/login", "/logout", "/api/info")
NO_STORE_PREFIXES = ("/account/", "/admin/")


def is_no_store(path: str) -> bool:
    return path in NO_STORE_PATHS or path.startswith(NO_STORE_PREFIXES)


class StandardHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, version: str, default_language: str) -> None:
        self.app = app
        self.version = version.encode()
        self.default_language = default_language

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
            request_id = secrets.token_hex(16).encode()
        language = negotiate(accept_language, self.default_language)
        state = scope.setdefault("state", {})
        state["language"] = language
        state["request_id"] = request_id.decode()
        extra = [
            (b"x-request-id", request_id),
            (b"x-api-version", self.version),
            (b"content-language", CONTENT_LANGUAGE[language].encode()),
        ]
        no_store = is_no_store(scope["path"])
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                headers = [
                    h
                    for h in message.get("headers", ())
                    if not (no_store and h[0].lower() == b"cache-control")
                ]
                headers.extend(extra)
                headers.extend(state.get(PENDING_COOKIES, ()))
                if no_store:
                    headers.append((b"cache-control", b"no-store"))
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


async def _internal_error(send: Send, language: str) -> None:
    body = json.dumps(
        {"detail": translate("internal_error", language), "code": "internal_error"},
        ensure_ascii=False,
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
