"""Access tokens: typed JWTs bound to a log-in session, checked strictly, failing one way."""

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from jwt.algorithms import HMACAlgorithm

from authgate.errors import TokenExpired, TokenInvalid
from authgate.security.keyring import KeyRing, SigningKey
from authgate.settings import Settings

ACCESS = "access"
VERIFIED_CACHE_SIZE = 10_000
REQUIRED_CLAIMS = ("sub", "sid", "jti", "iat", "exp", "iss", "aud", "typ")


class _HmacCheckedOnce(HMACAlgorithm):
    """PyJWT's HS256, refusing a secret shaped like an asymmetric key once per secret rather
    than on every signature (the secret is authgate's own, the same for every token).

    Kept because the bench shows it pays: PyJWT 2.15 tries the secret as JSON, PEM, SSH and
    DER on each call, 73 k of a refresh's 1.47 M instructions (5 %).
    """

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)
        self._checked: tuple[Any, bytes] | None = None

    def prepare_key(self, key: str | bytes) -> bytes:
        checked = self._checked
        if checked is None or checked[0] != key:
            checked = self._checked = (key, super().prepare_key(key))
        return checked[1]


def _signer() -> jwt.PyJWS:
    """PyJWT's signer with HS256 swapped for `_HmacCheckedOnce` (its public extension point)."""
    signer = jwt.PyJWS()
    signer.unregister_algorithm("HS256")
    signer.register_algorithm("HS256", _HmacCheckedOnce())
    return signer


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    session_id: uuid.UUID
    jti: str
    expires_at: int
    kid: str = ""  # the key that signed it


class TokenCodec:
    def __init__(self, settings: Settings, keys: KeyRing) -> None:
        self._settings = settings
        self._algorithm = settings.jwt_algorithm
        self.keys = keys
        # Checking a JWT costs more than all the rest of an authenticated request, and a client
        # sends the same access token for minutes: the tokens verified here are remembered, by
        # their exact text (a token altered in any way is a stranger and is checked in full).
        self._verified: dict[str, AccessClaims] = {}
        # PyJWT's signer without its payload encoder: the claims are serialised once, here.
        self._signer = _signer()

    @property
    def access_lifetime(self) -> int:
        return self._settings.access_token_lifetime

    def issue_access(
        self, user_id: int, session_id: uuid.UUID, now: datetime, *, not_after: datetime | None,
        auth_time: datetime | None = None, amr: Sequence[str] = ("pwd",),
    ) -> tuple[str, int]:  # fmt: skip
        """A signed access token and its `exp`: its lifetime, or `not_after` if sooner (the end
        of its session: a token never outlives the log-in it belongs to). `auth_time` and `amr`
        (OpenID Connect's claims) say when and how the user last proved who they are."""
        issued = int(now.timestamp())
        expires = issued + self.access_lifetime
        if not_after is not None:
            expires = max(issued, min(expires, int(not_after.timestamp())))
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": secrets.token_hex(16),
            "iat": issued,
            "exp": expires,
            "iss": self._settings.jwt_issuer,
            "aud": self._settings.jwt_audience,
            "typ": ACCESS,
            "auth_time": int((auth_time or now).timestamp()),
            "amr": list(amr),
        }
        key = self.keys.current()
        payload = json.dumps(claims, separators=(",", ":")).encode()
        token = self._signer.encode(
            payload, key.signing, algorithm=self._algorithm, headers={"kid": key.kid}
        )
        return token, expires

    def jwks(self) -> dict[str, Any]:
        return self.keys.jwks()

    def decode_access(self, token: str, now: datetime) -> AccessClaims:
        """Verify an access token at `now`; every failure is TokenInvalid or TokenExpired."""
        parsed = self._verified.get(token)
        # A remembered token still needs the key that signed it on the ring (a pruned key fails
        # its tokens at once); expiry is judged here, and revocation by the caller, every time.
        if parsed is None or self.keys.get(parsed.kid) is None:
            parsed = self._verify(token)
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                del self._verified[next(iter(self._verified))]  # the oldest
            self._verified[token] = parsed
        if parsed.expires_at <= now.timestamp():
            raise TokenExpired()
        return parsed

    def _verify(self, token: str) -> AccessClaims:
        try:
            key = self._verifying_key(token)
            if key is None:
                raise TokenInvalid()
            decoded = jwt.decode_complete(
                token,
                key.verifying,
                algorithms=[self._algorithm],  # pinned: no "none", no HS/RS confusion
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                # Expiry is judged below against the injectable clock, not the wall clock.
                options={
                    "require": list(REQUIRED_CLAIMS),
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
            claims = decoded["payload"]
            if claims["typ"] != ACCESS:
                raise TokenInvalid()
            return AccessClaims(
                user_id=int(claims["sub"]),
                session_id=uuid.UUID(claims["sid"]),
                jti=str(claims["jti"]),
                expires_at=int(claims["exp"]),
                kid=key.kid,
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise TokenInvalid() from None

    def _verifying_key(self, token: str) -> SigningKey | None:
        # HS256: one secret, shared with other services that sign without a kid (or with
        # their own): whatever the header names, the signature with the secret decides.
        if self.keys.is_hmac:
            return self.keys.current()
        # Key pairs: the kid only picks a key of the configured algorithm, never trusted
        # beyond; a kid unknown here makes the ring look for a key rotated in elsewhere.
        return self.keys.get(jwt.get_unverified_header(token).get("kid"))
