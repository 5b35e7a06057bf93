"""An app built from test-specific settings, with a client on it, for tests that need one."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from authgate import Settings, create_app


@asynccontextmanager
async def running_app(
    settings: Settings,
    clock: object = None,
    *,
    peer: tuple[str, int] = ("127.0.0.1", 50000),
    base_url: str = "http://testserver",
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app (started) and a client that connects from `peer`."""
    app = create_app(settings)
    if clock is not None:
        app.state.clock = clock
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=peer)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield app, client
