"""Access tokens: typed JWTs bound to a log-in session, checked strictly, failing one way."""

import json
import secrets
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
import pydantic_core
from jwt.utils import base64url_encode

from authgate.errors import TokenExpired, TokenInvalid
from authgate.security.keyring import KeyRing, SigningKey
from authgate.settings import Settings

ACCESS = "access"
VERIFIED_CACHE_SIZE = 10_000
SIGNINGS_KEPT = 16
REQUIRED_CLAIMS = ("sub", "sid", "jti", "iat", "exp", "iss", "aud", "typ")


@dataclass(frozen=True, slots=True)
class _Signing:
    """What every token signed with one key shares, made once per key."""

    key: Any  # the key as the ring holds it
    header: bytes  # the encoded JWS header, with the dot that follows it
    prepared: Any  # the key as PyJWT's algorithm signs with it, checked by PyJWT


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
        # Signing is PyJWT's algorithm (HMAC, RSA, EC or EdDSA) on the compact form made here:
        # `PyJWS.encode` checks the key's shape and encodes the same header with the json
        # module on every token, where a key's header and checked key are made once (below).
        # The bench shows it pays: a token cost a refresh 183 k of its 1.21 M instructions.
        self._algorithm_object = jwt.get_algorithm_by_name(self._algorithm)
        self._signings: dict[str, _Signing] = {}

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
        signing = self._signing(self.keys.current())
        # The claims' JSON as json.dumps writes it compactly, in a tenth of the time.
        signed = signing.header + base64url_encode(pydantic_core.to_json(claims))
        signature = self._algorithm_object.sign(signed, signing.prepared)
        return (signed + b"." + base64url_encode(signature)).decode(), expires

    def _signing(self, key: SigningKey) -> _Signing:
        """The header and the checked key of `key`'s tokens, as `PyJWS.encode` makes them."""
        found = self._signings.get(key.kid)
        if found is None or found.key is not key.signing:
            prepared = self._algorithm_object.prepare_key(key.signing)
            weak = self._algorithm_object.check_key_length(prepared)
            if weak:
                warnings.warn(weak, jwt.InsecureKeyLengthWarning, stacklevel=2)
            header = {"alg": self._algorithm, "kid": key.kid, "typ": "JWT"}
            text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
            if len(self._signings) >= SIGNINGS_KEPT:  # keys rotated out long ago
                self._signings.clear()
            found = self._signings[key.kid] = _Signing(
                key.signing, base64url_encode(text) + b".", prepared
            )
        return found

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
