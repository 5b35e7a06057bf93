"""Access tokens: typed JWTs bound to a log-in session, checked strictly, failing one way."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

import jwt

from authgate.errors import TokenExpired, TokenInvalid
from authgate.settings import Settings

ACCESS = "access"
REQUIRED_CLAIMS = ("sub", "sid", "jti", "iat", "exp", "iss", "aud", "typ")


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    session_id: uuid.UUID
    jti: str
    expires_at: int


class TokenCodec:
    def __init__(self, settings: Settings, secret_key: str) -> None:
        self._settings = settings
        self._algorithm = settings.jwt_algorithm
        self._signing_key: object = secret_key
        self._verifying_key: object = secret_key

    @property
    def access_lifetime(self) -> int:
        return self._settings.access_token_lifetime

    def issue_access(self, user_id: int, session_id: uuid.UUID, now: datetime) -> str:
        issued = int(now.timestamp())
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": secrets.token_hex(16),
            "iat": issued,
            "exp": issued + self.access_lifetime,
            "iss": self._settings.jwt_issuer,
            "aud": self._settings.jwt_audience,
            "typ": ACCESS,
        }
        return jwt.encode(claims, self._signing_key, algorithm=self._algorithm)  # type: ignore[arg-type]

    def decode_access(self, token: str, now: datetime) -> AccessClaims:
        """Verify an access token at `now`; every failure is TokenInvalid or TokenExpired."""
        try:
            claims = jwt.decode(
                token,
                self._verifying_key,  # type: ignore[arg-type]
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
            if claims["typ"] != ACCESS:
                raise TokenInvalid()
            parsed = AccessClaims(
                user_id=int(claims["sub"]),
                session_id=uuid.UUID(claims["sid"]),
                jti=str(claims["jti"]),
                expires_at=int(claims["exp"]),
            )
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise TokenInvalid() from None
        if parsed.expires_at <= now.timestamp():
            raise TokenExpired()
        return parsed
