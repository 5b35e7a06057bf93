"""`create_app(settings)`: builds every collaborator, hangs it on `app.state`, wires the stack."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib.metadata import version

from fastapi import APIRouter, FastAPI

from authgate import compose
from authgate.cors.middleware import RegistryCORSMiddleware, middleware_options
from authgate.handlers import install_handlers
from authgate.logs import configure_logging
from authgate.middleware.body_limit import BodyLimitMiddleware
from authgate.middleware.headers import StandardHeadersMiddleware
from authgate.middleware.trailing_slash import TrailingSlashMiddleware
from authgate.observe import RequestObserver
from authgate.openapi import (
    document_mfa_enrollment,
    document_password_policy,
    document_security,
    responses,
)
from authgate.routers.accounts import read_me
from authgate.routers.accounts import router as accounts_router
from authgate.routers.admin import router as admin_router
from authgate.routers.browser import router as browser_router
from authgate.routers.items import router as items_router
from authgate.routers.mfa import router as mfa_router
from authgate.routers.oauth2 import metadata_router
from authgate.routers.oauth2 import router as oauth2_router
from authgate.routers.ops import router as ops_router
from authgate.routers.passkeys import router as passkeys_router
from authgate.routers.recovery import router as recovery_router
from authgate.routers.tokens import jwks_router
from authgate.routers.tokens import router as tokens_router
from authgate.routers.ui import router as ui_router
from authgate.routing import install_routing
from authgate.sessions.dependencies import CONFINING_GUARDS, GUARDS, oauth2_scheme
from authgate.settings import Settings

API_VERSION = version("authgate")


def utc_clock() -> datetime:
    return datetime.now(UTC)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="authgate",
        version=API_VERSION,
        description="Accounts, log-in sessions and tokens for web, mobile and server clients.",
        lifespan=_lifespan,
        swagger_ui_parameters={"persistAuthorization": True},
        # Every route can answer 413 (the body limit applies before routing).
        responses=responses(413),
        # Never a redirect built from the Host header: TrailingSlashMiddleware routes both.
        redirect_slashes=False,
        # FastAPI's own OpenTelemetry: off. authgate has its own metrics and request lines,
        # and with it on, FastAPI asks OpenTelemetry for its global providers on every
        # request (5% of a Bearer GET /account/me in a profile) to find them unconfigured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    _build_state(app, settings)
    install_handlers(app)
    routers = (
        ops_router,
        accounts_router,
        tokens_router,
        oauth2_router,
        mfa_router,
        passkeys_router,
        items_router,
        browser_router,
        admin_router,
        jwks_router,
        recovery_router,
        ui_router,
        metadata_router,
    )
    for router in routers:
        _include(app, router)
    install_routing(app)
    document_security(app, oauth2_scheme, (*GUARDS, read_me))
    document_password_policy(app, settings.password_min_length)
    if settings.mfa_required:
        document_mfa_enrollment(app, CONFINING_GUARDS)
    # Starlette runs the last-added middleware first, so this reads inside-out. From the outside:
    # 1. standard headers: times everything and decorates every answer, preflights and 413s too,
    #    and counts and logs each (by route template, which routing leaves in the scope);
    # 2. CORS: answers preflights, and marks every answer for allowed origins, errors and 413s
    #    included (a browser hides from the page any answer without them, even an error);
    # 3. body limit: refuses oversized bodies before anything reads them.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes,
                       default_language=settings.default_language)  # fmt: skip
    app.add_middleware(RegistryCORSMiddleware, registry=app.state.cors,
                       **middleware_options(settings))  # fmt: skip
    app.add_middleware(StandardHeadersMiddleware, version=API_VERSION,
                       default_language=settings.default_language,
                       observe=RequestObserver(app.state.metrics))  # fmt: skip
    # 0. outermost, the trailing slash goes, so that every layer and route sees one path.
    app.add_middleware(TrailingSlashMiddleware)
    return app


def _include(app: FastAPI, router: APIRouter) -> None:
    """Make `router`'s routes the app's own, in a flat list.

    `include_router` keeps a router as a branch that FastAPI walks twice per request (to match,
    then to handle), rechecking the branch's routes each time. Still worth it after the
    one-data-path redesign (bench, same run, server CPU per request): Bearer GET /account/me
    122 µs flat against 138 µs included; GET /items/{id} 164 against 195. Our routers carry
    all they need from their definition (prefix, tags, responses), and none has event handlers
    or a lifespan of its own, so adding their routes directly loses nothing. (The app's own
    `responses` would not reach them: each router documents 413 itself.)
    """
    if router.on_startup or router.on_shutdown:
        raise ValueError("a router with event handlers must be included with include_router")
    app.router.routes.extend(router.routes)


def create_served_app() -> FastAPI:
    """`create_app` as `authgate serve` runs it in each worker: the start-up heap frozen."""
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings)
    app.state.freeze_heap = True
    return app


def _build_state(app: FastAPI, settings: Settings) -> None:
    """Every collaborator on `app.state`, by name (`app.state.db`, `.tokens`...), where
    routes and dependencies find them; `app.state.services` holds them together."""
    services = compose.build(settings)
    state = app.state
    state.services = services
    for name in services.__slots__:
        setattr(state, name, getattr(services, name))
    state.clock = utc_clock


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    await app.state.feed.start()
    await app.state.hasher.warm_up()
    await app.state.keys.start()
    await app.state.cors.start()
    app.state.mail.start()
    # The clock is looked up at each use: tests replace `app.state.clock` after start-up.
    await app.state.audit.start(lambda: app.state.clock())
    if getattr(app.state, "freeze_heap", False):
        # What start-up built lives as long as the worker: out of the collector's sight, the
        # full collections that come later walk only what requests leave behind, not the
        # whole heap of a worker (50-270 ms each, pauses every request in flight).
        gc.collect()
        gc.freeze()
    try:
        yield
    finally:
        await app.state.audit.stop()  # writes the events still queued
        await app.state.mail.stop()
        await app.state.cors.stop()
        await app.state.keys.stop()
        await app.state.feed.stop()
        await app.state.services.close()
