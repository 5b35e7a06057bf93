"""Signing access tokens: PyJWT's HMAC with its key check done once per good key."""

import jwt
import pytest

from authgate.security.tokens import _signer

PEM = (
    b"-----BEGIN PUBLIC KEY-----\n"
    b"MCowBQYDK2VwAyEAdGhpcyBpcyBub3QgYSByZWFsIGtleSBhdCBhbGw=\n"
    b"-----END PUBLIC KEY-----\n"
)


def test_signatures_are_plain_hs256() -> None:
    token = _signer().encode(b'{"sub":"1"}', "k" * 32, algorithm="HS256", headers={"kid": "a"})
    assert jwt.decode(token, "k" * 32, algorithms=["HS256"]) == {"sub": "1"}
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "kid": "a", "typ": "JWT"}


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
def test_an_asymmetric_key_is_refused_every_time(algorithm: str) -> None:
    signer = _signer()
    for _ in range(2):  # a refusal is not remembered as a good key
        with pytest.raises(jwt.InvalidKeyError):
            signer.encode(b"{}", PEM, algorithm=algorithm)
