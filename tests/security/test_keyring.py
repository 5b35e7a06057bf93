"""Signing keys: EdDSA/ES256/RS256 key pairs sealed in the database, the JWKS, rotation."""

import asyncio
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from authgate.cli import cli
from authgate.db import Database, utcnow
from authgate.hostfeed import HostFeed
from authgate.security import keyring
from authgate.security.keystore import KEY, KeyCipher, KeyDecryptionError, load_pem, new_pem
from authgate.security.keystore import rotate as rotate_unit
from tests.bearer import bearer, create_account, serving, token_login
from tests.conftest import TEST_SECRET

SRC = str(Path(__file__).resolve().parents[2] / "src")
OTHER_SECRET = "another-secret-key-0123456789-abcdefghijklmnopqrstuvw"


async def rows(app) -> list:  # type: ignore[no-untyped-def]
    return await app.state.db.read(
        lambda c: c.execute(select(KEY).order_by(KEY.c.created_at, KEY.c.kid)).all()
    )


async def test_hs256_publishes_no_keys(client):
    response = await client.get("/.well-known/jwks.json")
    assert (response.status_code, response.json()) == (200, {"keys": []})


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
async def test_asymmetric_tokens_verify_with_the_published_key(make_settings, clock, algorithm):
    settings = make_settings(jwt_algorithm=algorithm, rate_limit_enabled=False)
    async with serving(settings, clock) as (app, client):
        await create_account(client)
        access = (await token_login(client))["access"]
        header = jwt.get_unverified_header(access)
        assert header["alg"] == algorithm
        keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
        assert [k["kid"] for k in keys] == [header["kid"]]
        assert (keys[0]["alg"], keys[0]["use"]) == (algorithm, "sig")
        assert not {"d", "p", "q"} & set(keys[0]), "a private part was published"
        public = jwt.PyJWK(keys[0]).key
        claims = jwt.decode(access, public, algorithms=[algorithm], audience="authgate")
        assert claims["typ"] == "access"
        assert (await client.get("/account/me", headers=bearer(access))).status_code == 200
        # Under key pairs the kid picks the key: a token naming none is refused.
        unnamed = jwt.encode(claims, app.state.keys.current().signing, algorithm=algorithm)
        response = await client.get("/account/me", headers=bearer(unnamed))
        assert (response.status_code, response.json()["code"]) == (401, "token_invalid")
        assert [(row.kid, row.algorithm) for row in await rows(app)] == [(header["kid"], algorithm)]
    assert not (settings.data_dir / "jwt_keys").exists(), "no key is kept in the data folder"


async def test_private_keys_are_stored_encrypted(make_settings, clock):
    settings = make_settings(jwt_algorithm="ES256", rate_limit_enabled=False)
    async with serving(settings, clock) as (app, _):
        [row] = await rows(app)
        signing = app.state.keys.current().signing
    assert b"PRIVATE KEY" not in row.private_key and b"PRIVATE KEY" not in row.nonce
    assert len(row.nonce) == 12
    pem = KeyCipher(TEST_SECRET).open(row.kid, "ES256", row.nonce, row.private_key)
    assert load_pem(pem).private_numbers() == signing.private_numbers()
    assert pem not in row.private_key
    with pytest.raises(KeyDecryptionError, match="AUTHGATE_SECRET_KEY"):
        KeyCipher(OTHER_SECRET).open(row.kid, "ES256", row.nonce, row.private_key)
    # The kid is bound to the ciphertext: a sealed key cannot be moved to another row.
    with pytest.raises(KeyDecryptionError):
        KeyCipher(TEST_SECRET).open("000009-other", "ES256", row.nonce, row.private_key)
    # An instance with another secret key refuses to start rather than sign with other keys.
    with pytest.raises(KeyDecryptionError):
        async with serving(settings.model_copy(update={"secret_key": OTHER_SECRET}), clock):
            pass


async def test_a_second_worker_reuses_the_key_instead_of_making_one(make_settings, clock):
    settings = make_settings(jwt_algorithm="EdDSA", rate_limit_enabled=False)
    async with serving(settings, clock) as (app, one), serving(settings, clock) as (_, two):
        await create_account(one)
        access = (await token_login(one))["access"]
        assert (await two.get("/account/me", headers=bearer(access))).status_code == 200
        assert len(await rows(app)) == 1


def test_workers_starting_at_once_create_exactly_one_key(make_settings):
    """Six processes race to create the first key of an empty database."""
    settings = make_settings(jwt_algorithm="RS256")
    start = time.time() + 2
    code = (
        "import asyncio, time, sys\n"
        "from authgate import Settings, compose\n"
        "async def main():\n"
        "    services = compose.build(Settings())\n"
        "    try:\n"
        "        await services.keys.load()\n"
        "        print(services.keys.current().kid)\n"
        "    finally:\n"
        "        await services.close()\n"
        f"while time.time() < {start}: pass\n"
        "asyncio.run(main())\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": SRC,
        "AUTHGATE_DATA_DIR": str(settings.data_dir),
        "AUTHGATE_SECRET_KEY": TEST_SECRET,
        "AUTHGATE_JWT_ALGORITHM": "RS256",
    }
    racers = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    kids = [racer.communicate(timeout=60)[0].strip() for racer in racers]
    assert [racer.returncode for racer in racers] == [0] * 6
    assert len(set(kids)) == 1, kids


async def test_key_pairs_of_an_older_version_are_imported(make_settings, clock):
    """Keys kept in `<data_dir>/jwt_keys/<ALG>/` before: their tokens keep verifying."""
    settings = make_settings(jwt_algorithm="EdDSA", rate_limit_enabled=False)
    folder = settings.data_dir / "jwt_keys" / "EdDSA"
    folder.mkdir(parents=True)
    older, newer = new_pem("EdDSA"), new_pem("EdDSA")
    (folder / "000001-0a0b0c0d.pem").write_bytes(older)
    (folder / "000002-1a1b1c1d.pem").write_bytes(newer)
    aged = time.time() - 600
    os.utime(folder / "000001-0a0b0c0d.pem", (aged, aged))
    async with serving(settings, clock) as (app, client):
        await create_account(client)
        access = (await token_login(client))["access"]
        assert jwt.get_unverified_header(access)["kid"] == "000002-1a1b1c1d"  # the newest signs
        kids = [k["kid"] for k in (await client.get("/.well-known/jwks.json")).json()["keys"]]
        assert kids == ["000002-1a1b1c1d", "000001-0a0b0c0d"]
        # A token the older version signed with its previous key still verifies.
        claims = jwt.decode(access, options={"verify_signature": False})
        old = jwt.encode(claims, load_pem(older), "EdDSA", headers={"kid": "000001-0a0b0c0d"})
        assert (await client.get("/account/me", headers=bearer(old))).status_code == 200
        stored = await rows(app)
        assert [r.retired_at is None for r in stored] == [False, True]
        assert all(older not in r.private_key and newer not in r.private_key for r in stored)


def rotate(settings) -> str:  # type: ignore[no-untyped-def]
    env = {
        "AUTHGATE_DATA_DIR": str(settings.data_dir),
        "AUTHGATE_SECRET_KEY": TEST_SECRET,
        "AUTHGATE_JWT_ALGORITHM": settings.jwt_algorithm,
    }
    if settings.database_url:
        env["AUTHGATE_DATABASE_URL"] = settings.database_url
    result = CliRunner().invoke(cli, ["keys", "rotate"], env=env)
    assert result.exit_code == 0, result.output
    return result.output


async def signing_kid(client, expected: str, within: float = 2.0) -> str:  # type: ignore[no-untyped-def]
    """The kid `client`'s instance signs with, once it is `expected` (waiting up to `within`)."""
    deadline = time.monotonic() + within
    while True:
        kid = jwt.get_unverified_header((await token_login(client))["access"])["kid"]
        if kid == expected or time.monotonic() > deadline:
            return kid
        await asyncio.sleep(0.1)


async def test_rotation(make_settings, clock):
    settings = make_settings(jwt_algorithm="ES256", rate_limit_enabled=False)
    async with serving(settings, clock) as (app, one), serving(settings, clock) as (_, two):
        await create_account(one)
        old = (await token_login(one))["access"]
        old_kid = jwt.get_unverified_header(old)["kid"]
        output = await asyncio.to_thread(rotate, settings)
        assert "new ES256 signing key" in output
        new_kid = output.split()[-1]
        assert new_kid != old_kid
        # Both running "workers" sign with the new key within 2 s, without a restart...
        assert await signing_kid(two, new_kid) == new_kid
        assert await signing_kid(one, new_kid) == new_kid
        new = (await token_login(two))["access"]
        # ...and the old key keeps verifying the tokens it signed until they expire.
        for client in (one, two):
            for token in (old, new):
                assert (await client.get("/account/me", headers=bearer(token))).status_code == 200
        kids = [k["kid"] for k in (await one.get("/.well-known/jwks.json")).json()["keys"]]
        assert kids == [new_kid, old_kid]
        # Once the old key is retired longer than an access token lives, the next rotation
        # prunes it.
        aged = utcnow() - timedelta(seconds=settings.access_token_lifetime + 3600)
        await app.state.db.write(
            lambda c: c.execute(update(KEY).where(KEY.c.kid == old_kid).values(retired_at=aged))
        )
        output = await asyncio.to_thread(rotate, settings)
        assert f"removed retired keys: {old_kid}" in output
        newest = output.split("signing key ", 1)[1].split()[0]
        assert await signing_kid(two, newest) == newest
        kids = [k["kid"] for k in (await two.get("/.well-known/jwks.json")).json()["keys"]]
        assert kids == [newest, new_kid]
        response = await two.get("/account/me", headers=bearer(old))
        assert (response.status_code, response.json()["code"]) == (401, "token_invalid")


def test_rotation_is_refused_for_hs256(tmp_path):
    env = {"AUTHGATE_DATA_DIR": str(tmp_path), "AUTHGATE_JWT_ALGORITHM": "HS256"}
    result = CliRunner().invoke(cli, ["keys", "rotate"], env=env)
    assert result.exit_code == 1
    assert "HS256 signs with AUTHGATE_SECRET_KEY" in result.output


class UnhealthyFeed(HostFeed):
    """A feed that cannot vouch for what it delivers (say, its connection dropped)."""

    healthy = False


async def test_an_unhealthy_feed_reloads_the_keys_once_a_second(make_settings, monkeypatch):
    settings = make_settings(jwt_algorithm="EdDSA")
    now = [1000.0]
    monkeypatch.setattr(keyring.time, "monotonic", lambda: now[0])
    feed, elsewhere = UnhealthyFeed(settings.data_dir), HostFeed(settings.data_dir / "elsewhere")
    db, other_db = Database(settings.effective_database_url, feed), None
    try:
        ring = keyring.KeyRing(settings, TEST_SECRET, db)
        await ring.load()
        await ring.refresh()  # reads back its own notice of the first key it made
        first = ring.current().kid
        # A rotation this instance hears nothing about (another host, no shared feed).
        other_db = Database(settings.effective_database_url, elsewhere)
        cipher = KeyCipher(TEST_SECRET)
        kid, _ = await other_db.write(lambda c: rotate_unit(c, "EdDSA", cipher, 300, utcnow()))
        now[0] += 0.5
        assert not await ring.refresh() and ring.current().kid == first
        now[0] += 0.5
        assert await ring.refresh() and ring.current().kid == kid
        assert not await ring.refresh()
    finally:
        for database in (db, other_db):
            if database is not None:
                await database.dispose()
        feed.close()
        elsewhere.close()


@pytest.mark.parametrize("algorithm", ["HS256", "EdDSA", "RS256"])
async def test_access_tokens_are_exactly_what_pyjwt_signs(make_settings, clock, algorithm):
    """The codec signs with PyJWT's algorithm on a compact form it makes itself: byte for byte
    what `jwt.encode` makes of the same claims (these three algorithms sign deterministically)."""
    settings = make_settings(jwt_algorithm=algorithm, rate_limit_enabled=False)
    async with serving(settings, clock) as (app, client):
        await create_account(client)
        for _ in range(2):  # the second token reuses the key's header and checked key
            access = (await token_login(client))["access"]
            claims = jwt.decode(access, options={"verify_signature": False})
            key = app.state.keys.current()
            expected = jwt.encode(
                claims, key.signing, algorithm=algorithm, headers={"kid": key.kid}
            )
            assert access == expected
