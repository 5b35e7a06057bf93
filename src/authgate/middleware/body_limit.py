"""Refuse request bodies over `AUTHGATE_MAX_BODY_BYTES` with 413, declared or streamed."""

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authgate.i18n import translate


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int, default_language: str) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.default_language = default_language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the app, so its exception handler answers 413. An
                    # HTTPException, because FastAPI turns any other error met while it reads
                    # a body into a 400.
                    raise HTTPException(413)
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        language = scope.get("state", {}).get("language", self.default_language)
        body = json.dumps(
            {"detail": translate("payload_too_large", language), "code": "payload_too_large"},
            ensure_ascii=False,
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
