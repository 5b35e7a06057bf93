"""Helpers for the token API: create an account, log in with tokens, the Bearer header."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from authgate import Settings, create_app
from authgate.accounts.models import User
from authgate.changes import announce, user_changed
from tests.helpers import PASSWORD


async def create_account(
    client: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD, **extra: str
) -> dict:
    response = await client.post(
        "/account/create-account", json={"username": username, "password": password, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def token_login(
    client: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD, **headers: str
) -> dict:
    """`/account/login` with JSON; returns the body (`access`, `refresh`...)."""
    response = await client.post(
        "/account/login", json={"username": username, "password": password}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def bearer(access: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access}"}


async def set_user_flags(app: FastAPI, user_id: int, **flags: bool) -> None:
    """Change `is_admin` / `is_active` directly in the database, as an admin route would."""

    def change(connection):  # type: ignore[no-untyped-def]
        connection.execute(update(User).where(User.id == user_id).values(**flags))
        announce(connection, user_changed(user_id))

    await app.state.db.write(change)


@asynccontextmanager
async def serving(
    settings: Settings, clock: Callable[[], datetime]
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app of its own settings (say, another worker or another algorithm) and a client."""
    app = create_app(settings)
    app.state.clock = clock
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as c,
    ):
        yield app, c
