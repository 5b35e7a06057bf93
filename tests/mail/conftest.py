"""Mail tests: a real SMTP server, and apps whose senders poll and retry in milliseconds."""

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from authgate import Settings, create_app
from tests.mail.smtp import SmtpServer

FAST_MAIL = {"mail_poll_interval": 0.05, "mail_retry_base": 0.05, "mail_retry_max": 0.2}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(make_settings, smtp: SmtpServer) -> Settings:  # type: ignore[no-untyped-def]
    return make_settings(rate_limit_enabled=False, **FAST_MAIL, **smtp.settings())


@contextlib.asynccontextmanager
async def running(settings: Settings, clock: Any = None) -> AsyncIterator[FastAPI]:
    """An app with its lifespan (so its sender) running."""
    application = create_app(settings)
    if clock is not None:
        application.state.clock = clock
    async with application.router.lifespan_context(application):
        yield application


def client_of(application: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")
