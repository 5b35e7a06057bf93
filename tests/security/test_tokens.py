"""Attacks on access tokens: each one ends in 401 with a token_* code and tells nothing more."""

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.bearer import bearer, create_account, serving, token_login
from tests.conftest import TEST_SECRET


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict, claims: dict, key: bytes | None) -> str:
    """A JWT written by hand, so that PyJWT's own guard rails cannot stop the attacker."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest() if key else b""
    return f"{signing_input}.{b64(signature)}"


def parts(token: str) -> tuple[dict, dict]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
async def access(client) -> str:
    await create_account(client)
    return (await token_login(client))["access"]


async def assert_refused(client, token: str, code: str = "token_invalid") -> None:
    response = await client.get("/account/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.json() == {"detail": response.json()["detail"], "code": code}
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_the_genuine_token_works(client, access):
    assert (await client.get("/account/me", headers=bearer(access))).status_code == 200


async def test_alg_none(client, access):
    header, claims = parts(access)
    await assert_refused(client, forge({**header, "alg": "none"}, claims, None))
    await assert_refused(client, forge({**header, "alg": "none"}, claims, None)[:-1])


async def test_signed_with_another_key(client, access):
    header, claims = parts(access)
    await assert_refused(client, forge(header, claims, b"another-secret-" * 4))
    other = jwt.encode(claims, "x" * 64, algorithm="HS256", headers={"kid": header["kid"]})
    await assert_refused(client, other)


async def test_hs256_judges_a_token_signed_with_the_secret_whatever_its_kid(client, access):
    # The contract: other services sharing the secret sign without a kid, or with their own.
    header, claims = parts(access)
    secret = TEST_SECRET.encode()
    for signed in ({"alg": "HS256"}, {"alg": "HS256", "typ": "JWT", "kid": "another-service"}):
        token = forge(signed, claims, secret)
        assert (await client.get("/account/me", headers=bearer(token))).status_code == 200
        # ...but only with the secret: the kid never stands in for the signature.
        await assert_refused(client, forge(signed, claims, b"another-secret-" * 4))
    await assert_refused(client, forge({**header, "kid": ["a"]}, claims, secret))  # malformed


async def test_correctly_signed_forgery_passes_to_prove_the_forge_helper(client, access):
    header, claims = parts(access)
    assert (
        await client.get("/account/me", headers=bearer(forge(header, claims, TEST_SECRET.encode())))
    ).status_code == 200


async def test_expired(client, access, clock):
    clock.advance(299)
    assert (await client.get("/account/me", headers=bearer(access))).status_code == 200
    clock.advance(1)
    await assert_refused(client, access, "token_expired")


@pytest.mark.parametrize(
    "change",
    [
        {"aud": "another-service"},
        {"iss": "https://evil.example"},
        {"typ": "refresh"},
        {"sub": "not-a-number"},
        {"sid": "not-a-uuid"},
        {"jti": None},
    ],
)
async def test_wrong_claims_signed_with_the_right_key(client, access, change):
    header, claims = parts(access)
    claims = {k: v for k, v in {**claims, **change}.items() if v is not None}
    await assert_refused(client, forge(header, claims, TEST_SECRET.encode()))


async def test_tampered_payload(client, access):
    await create_account(client, "mallory")
    _, claims = parts(access)
    head, _, signature = access.split(".")
    forged_claims = b64(json.dumps({**claims, "sub": "2", "exp": claims["exp"] + 10**6}).encode())
    await assert_refused(client, f"{head}.{forged_claims}.{signature}")
    await assert_refused(client, access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB"))


async def test_a_refresh_token_is_not_an_access_token(client):
    await create_account(client)
    pair = await token_login(client)
    await assert_refused(client, pair["refresh"])


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("Bearer", "token_invalid"),
        ("Bearer ", "token_invalid"),
        ("Bearer a.b", "token_invalid"),
        ("Bearer a.b.c", "token_invalid"),
        ("Bearer ....", "token_invalid"),
        ("bearer e30.e30.", "token_invalid"),
        ("Basic x", "not_authenticated"),
        ("Basic", "not_authenticated"),
        ("", "not_authenticated"),
        ("Token abc", "not_authenticated"),
    ],
)
async def test_garbage_authorization_headers(client, authorization, code):
    response = await client.get("/account/me", headers={"Authorization": authorization})
    assert (response.status_code, response.json()["code"]) == (401, code)


async def test_non_ascii_authorization_header(client):
    for raw in ("Bearer é.ü.ß".encode(), b"Bearer \xff\xfe.\x00x.y", "Bearer 토큰".encode()):
        response = await client.get("/account/me", headers={"Authorization": raw})
        assert (response.status_code, response.json()["code"]) == (401, "token_invalid")


async def test_hs_rs_confusion_when_rs256_is_configured(make_settings, clock):
    settings = make_settings(jwt_algorithm="RS256", rate_limit_enabled=False)
    async with serving(settings, clock) as (app, client):
        await create_account(client)
        access = (await token_login(client))["access"]
        header, claims = parts(access)
        assert header["alg"] == "RS256"
        public_pem = app.state.tokens.keys.get(header["kid"]).verifying.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        # The classic: HMAC-sign with the public key, hoping the verifier uses it as a secret.
        await assert_refused(client, forge({**header, "alg": "HS256"}, claims, public_pem))
        # An HS256 token made with the server's secret is refused too: only RS256 is accepted.
        await assert_refused(
            client, forge({**header, "alg": "HS256"}, claims, TEST_SECRET.encode())
        )
        assert (await client.get("/account/me", headers=bearer(access))).status_code == 200


async def test_eddsa_token_signed_by_a_foreign_key_pair(make_settings, clock):
    settings = make_settings(jwt_algorithm="EdDSA", rate_limit_enabled=False)
    async with serving(settings, clock) as (_, client):
        await create_account(client)
        access = (await token_login(client))["access"]
        header, claims = parts(access)
        foreign = ed25519.Ed25519PrivateKey.generate()
        forged = jwt.encode(claims, foreign, algorithm="EdDSA", headers={"kid": header["kid"]})
        await assert_refused(client, forged)
        await assert_refused(client, forge({**header, "alg": "none"}, claims, None))
