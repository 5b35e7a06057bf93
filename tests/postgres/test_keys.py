"""Instances on several hosts (each its own data folder) share their signing keys through
PostgreSQL: a token one issues is accepted by all, and a rotation reaches every one."""

import asyncio
import contextlib
from pathlib import Path

import jwt
import pytest
from sqlalchemy import func, select

from authgate import Settings, compose
from authgate.hostfeed import HostFeed
from authgate.security.keystore import KEY
from tests.bearer import bearer, create_account, serving, token_login
from tests.security.test_keyring import rotate, signing_kid

pytestmark = pytest.mark.postgres
ALGORITHMS = ["EdDSA", "ES256", "RS256"]


def on_host(settings: Settings, tmp_path: Path, host: str, algorithm: str) -> Settings:
    """`settings` (same database, same secret key) as an instance on another host sees them."""
    return settings.model_copy(update={"data_dir": tmp_path / host, "jwt_algorithm": algorithm})


async def key_count(app) -> int:  # type: ignore[no-untyped-def]
    return await app.state.db.read(lambda c: c.scalar(select(func.count()).select_from(KEY)))


@contextlib.asynccontextmanager
async def two_hosts(pg_settings, tmp_path, clock, algorithm):  # type: ignore[no-untyped-def]
    one = on_host(pg_settings, tmp_path, "host-one", algorithm)
    two = on_host(pg_settings, tmp_path, "host-two", algorithm)
    async with serving(one, clock) as (app, a), serving(two, clock) as (_, b):
        yield one, app, a, b


@pytest.mark.parametrize("algorithm", ALGORITHMS)
async def test_a_token_from_one_host_is_accepted_by_another(
    pg_settings, tmp_path, clock, algorithm
):
    async with two_hosts(pg_settings, tmp_path, clock, algorithm) as (_, app, one, two):
        await create_account(one)
        access = (await token_login(one))["access"]
        assert jwt.get_unverified_header(access)["alg"] == algorithm
        assert (await two.get("/account/me", headers=bearer(access))).status_code == 200
        access = (await token_login(two))["access"]
        assert (await one.get("/account/me", headers=bearer(access))).status_code == 200
        jwks = [(await c.get("/.well-known/jwks.json")).json() for c in (one, two)]
        assert jwks[0] == jwks[1] and len(jwks[0]["keys"]) == 1
        assert await key_count(app) == 1
    assert not (tmp_path / "host-one" / "jwt_keys").exists()


async def test_instances_starting_at_once_make_one_key(pg_settings, tmp_path, clock):
    settings = [on_host(pg_settings, tmp_path, f"host-{n}", "RS256") for n in range(4)]
    async with contextlib.AsyncExitStack() as stack:
        served = await asyncio.gather(
            *(stack.enter_async_context(serving(s, clock)) for s in settings)
        )
        kids = {app.state.keys.current().kid for app, _ in served}
        assert len(kids) == 1
        assert await key_count(served[0][0]) == 1


async def test_a_rotation_reaches_every_host(pg_settings, tmp_path, clock, monkeypatch):
    """Through a feed both hosts hear, as a PostgreSQL or Redis feed will carry it.

    Two data folders do not share the host feed, so the test gives both instances (and the
    command) one feed file of their own: what a feed across hosts does for them."""
    shared = tmp_path / "feed"
    monkeypatch.setattr(compose, "build_feed", lambda settings: HostFeed(shared))
    async with two_hosts(pg_settings, tmp_path, clock, "ES256") as (settings, _, one, two):
        await create_account(one)
        old = (await token_login(one))["access"]
        output = await asyncio.to_thread(rotate, settings)
        new_kid = output.split()[-1]
        assert await signing_kid(two, new_kid) == new_kid
        assert await signing_kid(one, new_kid) == new_kid
        new = (await token_login(two))["access"]
        for client in (one, two):
            for token in (old, new):
                assert (await client.get("/account/me", headers=bearer(token))).status_code == 200


async def test_a_rotation_reaches_the_other_host_through_postgresql(pg_settings, tmp_path, clock):
    """`keys rotate` on one host: the other hears it through LISTEN/NOTIFY within 2 s."""
    async with two_hosts(pg_settings, tmp_path, clock, "EdDSA") as (settings, app, one, two):
        await create_account(one)
        old_kid = jwt.get_unverified_header((await token_login(two))["access"])["kid"]
        new_kid = (await asyncio.to_thread(rotate, settings)).split()[-1]
        assert new_kid != old_kid
        signed_with = None
        for _ in range(20):
            signed_with = jwt.get_unverified_header((await token_login(two))["access"])["kid"]
            if signed_with == new_kid:
                break
            await asyncio.sleep(0.1)
        assert signed_with == new_kid
        new = (await token_login(one))["access"]
        assert (await two.get("/account/me", headers=bearer(new))).status_code == 200
        assert await key_count(app) == 2
