"""Routing: a request's route found among the few that could be its own, and the answers the
router gets wrong on its own (405's `Allow`, a client that left).

`install_routing(app)`, once every route is added, puts the `RouteIndex` first and installs
the handlers, beside `handlers.install_handlers`.
"""

import inspect
import logging
from bisect import insort
from typing import Any, get_type_hints

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

log = logging.getLogger("authgate")
# nginx's "client closed request": never delivered (nobody is listening), but it is what the
# request's middleware and any metrics see, and it is not a 5xx.
CLIENT_CLOSED_REQUEST = 499
CHOSEN = "authgate.route"  # in the scope: the route the index found


class RouteIndex(BaseRoute):
    """The app's first route: it finds the request's route by its path, among the routes after
    it, and hands the request to that route.

    The router asks every route in turn until one matches, and FastAPI's match costs about 3 µs
    a route: the items routes, 31st in the list, spent a third of `GET /items/{id}` there
    (callgrind, instructions per request: 1.23 M, against 0.87 M with that route first). The
    index asks only the routes with exactly the request's path, and those whose path has
    parameters after a literal part the request's path starts with, in their order, so the
    route found is the one the router would have found. When none of them matches fully (a
    404, a 405), it answers "no match" and the router's own walk decides, as it always did.
    Only the index is added: the routes stay in the list, for OpenAPI and `url_path_for`.
    """

    def __init__(self, routes: list[BaseRoute]) -> None:
        self._exact: dict[str, list[tuple[int, BaseRoute]]] = {}
        self._prefixed: list[tuple[str, int, BaseRoute]] = []
        for position, route in enumerate(routes):
            path = route.path if isinstance(route, Route) else ""
            literal, brace, _ = path.partition("{")
            if isinstance(route, Route) and not brace:
                self._exact.setdefault(path, []).append((position, route))
            else:  # with parameters, or not a plain route (asked whatever the path)
                self._prefixed.append((literal, position, route))

    def _candidates(self, path: str) -> list[tuple[int, BaseRoute]]:
        found = list(self._exact.get(path, ()))
        for literal, position, route in self._prefixed:
            if path.startswith(literal):
                insort(found, (position, route), key=lambda pair: pair[0])
        return found

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            method = scope["method"]
            for _, route in self._candidates(get_route_path(scope)):
                methods = getattr(route, "methods", None)
                if methods and method not in methods:
                    continue  # at best a partial match: the walk judges those
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    return Match.FULL, {**child_scope, CHOSEN: route}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope[CHOSEN].handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # the routes themselves answer


class LeanRoute(APIRoute):
    """An `APIRoute` whose endpoint, when it takes the request alone and returns a `Response`,
    is called as it is, without FastAPI's request handler around it.

    That handler resolves parameters and dependencies and serialises the answer; such an
    endpoint has neither, and the handler still cost a fifth of a Bearer GET /account/me
    (callgrind: 0.49 M instructions a request with it, 0.39 M without). OpenAPI reads the
    route, not the handler: it documents the route as before. Every router uses this class;
    routes with parameters, dependencies or a model to return keep FastAPI's handler.
    """

    def get_route_handler(self) -> Any:
        if self.dependencies or not _takes_request_only(self.endpoint):
            return super().get_route_handler()
        return self.endpoint


def _takes_request_only(endpoint: Any) -> bool:
    if not inspect.iscoroutinefunction(endpoint):
        return False
    hints = get_type_hints(endpoint)
    parameters = list(inspect.signature(endpoint).parameters)
    answers = hints.get("return")
    return (
        len(parameters) == 1
        and hints.get(parameters[0]) is Request
        and isinstance(answers, type)
        and issubclass(answers, Response)
    )


def allowed_methods(routes: list[BaseRoute], scope: Scope) -> set[str]:
    """The methods of every route whose path matches the request's, whatever its method."""
    allowed: set[str] = set()
    for route in routes:
        methods = getattr(route, "methods", None)
        if methods and route.matches(scope)[0] is not Match.NONE:
            allowed |= methods
    return allowed


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    """405 with `Allow` naming the methods of all the path's routes, not just the first one's.

    Starlette stops at the first route whose path matches (`/account/me` has a GET route and
    a PATCH route) and names that route's methods only. Only 405s pay for the walk.
    """
    assert isinstance(exc, HTTPException)
    allowed = allowed_methods(request.app.router.routes, request.scope)
    if allowed:
        exc.headers = {**(exc.headers or {}), "Allow": ", ".join(sorted(allowed))}
    return await request.app.exception_handlers[HTTPException](request, exc)


async def client_disconnected(request: Request, exc: Exception) -> Response:
    """The client hung up before its body was read: nothing to answer, nothing broken.

    Handled here, inside the app, so that it reaches neither the 500 handler nor the server
    (each would log it as an error with a traceback).
    """
    log.info("client left before its request was read: %s %s", request.method, request.url.path)
    return Response(status_code=CLIENT_CLOSED_REQUEST)


def install_routing(app: FastAPI) -> None:
    """The index in front of the app's routes (all added by now), and the handlers above."""
    app.router.routes.insert(0, RouteIndex(list(app.router.routes)))
    app.add_exception_handler(405, method_not_allowed)
    app.add_exception_handler(ClientDisconnect, client_disconnected)
