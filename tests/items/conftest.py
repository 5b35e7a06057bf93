"""Fixtures for the items tests: two signed-up browsers and a way to make an admin."""

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from authgate.accounts.models import User
from authgate.changes import announce, user_changed
from tests.helpers import signup


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The default client, signed up as alice (cookie session)."""
    await signup(client, "alice")
    return client


@pytest.fixture
async def bob(new_client) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    other = new_client()
    await signup(other, "bob")
    return other


@pytest.fixture
def make_admin(app: FastAPI):  # type: ignore[no-untyped-def]
    """Make `username` an admin through the database, as an operator would."""

    async def promote(username: str) -> None:
        def change(connection):  # type: ignore[no-untyped-def]
            statement = update(User).where(User.username == username).values(is_admin=True)
            user_id = connection.execute(statement.returning(User.id)).scalar_one()
            # Like every change to a user, announced: all workers drop its cached sessions.
            announce(connection, user_changed(user_id))

        await app.state.db.write(change)

    return promote
