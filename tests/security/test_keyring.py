"""Signing keys: EdDSA/ES256/RS256 key pairs in the data folder, the JWKS, rotation."""

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
from typer.testing import CliRunner

from authgate.cli import cli
from authgate.security.keyring import key_folder
from tests.bearer import bearer, create_account, serving, token_login
from tests.conftest import TEST_SECRET

SRC = str(Path(__file__).resolve().parents[2] / "src")


async def test_hs256_publishes_no_keys(client):
    response = await client.get("/.well-known/jwks.json")
    assert (response.status_code, response.json()) == (200, {"keys": []})


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
async def test_asymmetric_tokens_verify_with_the_published_key(make_settings, clock, algorithm):
    settings = make_settings(jwt_algorithm=algorithm, rate_limit_enabled=False)
    async with serving(settings, clock) as (_, client):
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
    files = list(key_folder(settings).glob("*.pem"))
    assert [f.stem for f in files] == [header["kid"]]
    assert files[0].stat().st_mode & 0o777 == 0o600


async def test_a_second_worker_reuses_the_key_instead_of_making_one(make_settings, clock):
    settings = make_settings(jwt_algorithm="EdDSA", rate_limit_enabled=False)
    async with serving(settings, clock) as (_, one), serving(settings, clock) as (_, two):
        await create_account(one)
        access = (await token_login(one))["access"]
        assert (await two.get("/account/me", headers=bearer(access))).status_code == 200
    assert len(list(key_folder(settings).glob("*.pem"))) == 1


def test_workers_starting_at_once_create_exactly_one_key(tmp_path):
    """Six processes race to create the first key of an empty data folder."""
    start = time.time() + 1.5
    code = (
        "import time, sys; from pathlib import Path\n"
        "from authgate.security.keyring import ensure_key\n"
        f"while time.time() < {start}: pass\n"
        "ensure_key(Path(sys.argv[1]), 'RS256')\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    racers = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "keys")], env=env)
        for _ in range(6)
    ]
    assert [racer.wait(timeout=60) for racer in racers] == [0] * 6
    assert len(list((tmp_path / "keys").glob("*.pem"))) == 1
    assert not list((tmp_path / "keys").glob(".*.tmp"))


def rotate(settings) -> str:
    env = {
        "AUTHGATE_DATA_DIR": str(settings.data_dir),
        "AUTHGATE_SECRET_KEY": TEST_SECRET,
        "AUTHGATE_JWT_ALGORITHM": settings.jwt_algorithm,
    }
    result = CliRunner().invoke(cli, ["keys", "rotate"], env=env)
    assert result.exit_code == 0, result.output
    return result.output


async def test_rotation(make_settings, clock):
    settings = make_settings(jwt_algorithm="ES256", rate_limit_enabled=False)
    async with serving(settings, clock) as (_, one), serving(settings, clock) as (_, two):
        await create_account(one)
        old = (await token_login(one))["access"]
        old_kid = jwt.get_unverified_header(old)["kid"]
        output = await asyncio.to_thread(rotate, settings)
        assert "new ES256 signing key" in output
        # Both running "workers" sign with the new key at once, without a restart...
        new = (await token_login(two))["access"]
        new_kid = jwt.get_unverified_header(new)["kid"]
        assert new_kid != old_kid and new_kid in output
        assert jwt.get_unverified_header((await token_login(one))["access"])["kid"] == new_kid
        # ...and the old key keeps verifying the tokens it signed until they expire.
        for client in (one, two):
            for token in (old, new):
                assert (await client.get("/account/me", headers=bearer(token))).status_code == 200
        kids = [k["kid"] for k in (await one.get("/.well-known/jwks.json")).json()["keys"]]
        assert kids == [new_kid, old_kid]
        # Once the new key is older than an access token lives, the next rotation prunes.
        folder = key_folder(settings)
        aged = time.time() - settings.access_token_lifetime - 3600
        os.utime(folder / f"{new_kid}.pem", (aged, aged))
        output = await asyncio.to_thread(rotate, settings)
        assert f"removed retired keys: {old_kid}" in output
        kids = [k["kid"] for k in (await two.get("/.well-known/jwks.json")).json()["keys"]]
        assert len(kids) == 2 and old_kid not in kids and new_kid in kids
        response = await two.get("/account/me", headers=bearer(old))
        assert (response.status_code, response.json()["code"]) == (401, "token_invalid")


def test_rotation_is_refused_for_hs256(tmp_path):
    env = {"AUTHGATE_DATA_DIR": str(tmp_path), "AUTHGATE_JWT_ALGORITHM": "HS256"}
    result = CliRunner().invoke(cli, ["keys", "rotate"], env=env)
    assert result.exit_code == 1
    assert "HS256 signs with AUTHGATE_SECRET_KEY" in result.output
