"""Starlette's CORSMiddleware, asking the origin registry, and stricter where the contract is.

Starlette decides well; where authgate's contract asks for more, this subclass does:
- the origin decision asks `OriginRegistry` (settings + run-time origins), not a fixed list;
- a disallowed origin gets no `Access-Control-Allow-*` header at all (Starlette still sends
  `-Credentials` and `-Expose-Headers` on simple responses, and the method list on a failed
  preflight), so nothing about the API's policy leaks to sites it does not trust;
- a successful preflight names the requested method and headers rather than a catalogue;
- `Vary: Origin` on every response, merged into the app's own `Vary` without duplicates, so
  no shared cache hands one origin's answer to another;
- `*` with credentials is refused outright: Starlette would reflect any origin instead.
"""

from collections.abc import Collection
from functools import partial
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from authgate.cors.registry import OriginRegistry
from authgate.settings import Settings


class RegistryCORSMiddleware(CORSMiddleware):
    def __init__(
        self,
        app: ASGIApp,
        *,
        registry: OriginRegistry,
        allow_credentials: bool = True,
        allow_methods: Collection[str] = ("*",),
        allow_headers: Collection[str] = ("*",),
        expose_headers: Collection[str] = (),
        max_age: int = 600,
    ) -> None:
        if registry.allow_all and allow_credentials:
            # Any web site could then act as the logged-in user (settings refuse it too).
            raise ValueError("CORS: '*' origins cannot be combined with credentials")
        super().__init__(
            app,
            allow_origins=("*",) if registry.allow_all else (),
            allow_methods=allow_methods,
            allow_headers=allow_headers,
            allow_credentials=allow_credentials,
            expose_headers=expose_headers,
            max_age=max_age,
        )
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(n == b"origin" for n, _ in scope["headers"]):
            # Not a cross-origin request (browsers name the origin on those): nothing to decide
            # and no preflight, only Vary. Starlette would parse the headers and ask anyway.
            await self.app(scope, receive, partial(_send_varying, send=send))
            return
        await super().__call__(scope, receive, send)

    def is_allowed_origin(self, origin: str) -> bool:
        return self.allow_all_origins or self.registry.is_allowed(origin)

    def preflight_response(self, request_headers: Headers) -> Response:
        if not self.is_allowed_origin(request_headers["origin"]):
            vary = {"Vary": self.preflight_headers["Vary"]}
            return PlainTextResponse("Disallowed CORS origin", status_code=400, headers=vary)
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            response.headers["Access-Control-Allow-Methods"] = request_headers[
                "access-control-request-method"
            ]
            requested = request_headers.get("access-control-request-headers")
            if requested:  # every one of them was checked against the allowed list above
                response.headers["Access-Control-Allow-Headers"] = requested
        return response

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            headers = MutableHeaders(scope=message)
            origin = request_headers.get("origin")
            if origin is not None and self.is_allowed_origin(origin):
                headers.update(self.simple_headers)
                if self.preflight_explicit_allow_origin:  # always, unless '*' sans credentials
                    headers["Access-Control-Allow-Origin"] = origin
            add_vary(headers, "Origin")
        await send(message)


async def _send_varying(message: Message, send: Send) -> None:
    if message["type"] == "http.response.start":
        headers = message.setdefault("headers", [])
        if any(n.lower() == b"vary" for n, _ in headers):
            add_vary(MutableHeaders(scope=message), "Origin")
        else:
            message["headers"] = [*headers, (b"vary", b"Origin")]
    await send(message)


def add_vary(headers: MutableHeaders, name: str) -> None:
    """Merge `name` into `Vary` (one header, no duplicates; `*` already covers it)."""
    values = [v.strip() for line in headers.getlist("vary") for v in line.split(",") if v.strip()]
    lowered = {v.lower() for v in values}
    if name.lower() not in lowered and "*" not in lowered:
        values.append(name)
    headers["Vary"] = ", ".join(values)


def middleware_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `RegistryCORSMiddleware` that come from settings."""
    return {
        "allow_credentials": settings.cors_allow_credentials,
        "allow_methods": settings.cors_allow_methods,
        "allow_headers": settings.cors_allow_headers,
        "expose_headers": settings.cors_expose_headers,
        "max_age": settings.cors_max_age,
    }
