"""Route `/account/login/` as `/account/login`: one trailing slash is dropped before routing.

Clients written for Django REST framework add a slash to every path. Starlette would answer
them with a 307 to a `Location` built from the Host header (an open redirect to wherever the
Host header points) and many clients do not repeat a POST after a 307. Both spellings reach
the same route; the OpenAPI document names each route once, without the slash.
"""

from starlette.types import ASGIApp, Receive, Scope, Send


class TrailingSlashMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            raw_path: bytes | None = scope.get("raw_path")
            # `/` itself stays; so does an encoded `%2F`, which is part of a segment.
            if len(path) > 1 and path[-1] == "/" and (raw_path is None or raw_path[-1:] == b"/"):
                raw_path = raw_path[:-1] if raw_path else raw_path
                scope = {**scope, "path": path[:-1], "raw_path": raw_path}
        await self.app(scope, receive, send)
