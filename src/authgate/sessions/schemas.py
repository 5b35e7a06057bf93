"""Pydantic shapes of the token routes and of log-in sessions."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from authgate.schemas import check_exactly_one, exactly_one_of

Token = Annotated[str, Field(min_length=1, max_length=4096)]
GRANT_TYPES = ["password", "refresh_token"]


class TokenLogin(BaseModel):
    """`/account/login`: the tutorial's (simplejwt's) shape, plus token_type and expires_in."""

    message: str
    access: str
    refresh: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class OAuth2Token(BaseModel):
    """`/account/token`: an RFC 6749 access token response (no refresh token when a refresh
    grant is answered with rotation off: the one the client holds stays good)."""

    access_token: str
    refresh_token: str | None = None
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class PasswordChanged(BaseModel):
    """The caller's session was replaced: a token session gets its new pair here (a cookie
    session gets new cookies instead)."""

    message: str
    access: str | None = None
    refresh: str | None = None
    token_type: Literal["bearer"] | None = None
    expires_in: int | None = None


class ReauthRequest(BaseModel):
    """One proof: your password, a code from your authenticator app, one of your recovery
    codes, or a passkey's answer to `POST /account/reauthenticate/options`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=exactly_one_of("password", "code", "recovery_code", passkey="object"),
    )

    password: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    code: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    recovery_code: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    passkey: Annotated[
        dict[str, Any], Field(description="The PublicKeyCredential, as JSON")
    ] | None = None  # fmt: skip

    @model_validator(mode="after")
    def one_proof(self) -> "ReauthRequest":
        check_exactly_one(self, "password", "code", "recovery_code", "passkey")
        return self

    @property
    def method(self) -> str:
        """`password`, `totp`, `recovery_code` or `passkey`: which proof this is."""
        if self.password is not None:
            return "password"
        if self.code is not None:
            return "totp"
        return "recovery_code" if self.recovery_code is not None else "passkey"


class Reauthenticated(BaseModel):
    """The new session's `auth_time`; a token session's new pair (a cookie session gets new
    cookies instead)."""

    auth_time: datetime
    access: str | None = None
    refresh: str | None = None
    token_type: Literal["bearer"] | None = None
    expires_in: int | None = None


# What each grant needs (no `grant_type` is the password grant); any other grant is answered
# 400 `unsupported_grant_type`.
GRANTS_SCHEMA = {
    "oneOf": [
        {"properties": {"grant_type": {"const": "password"}}, "required": ["username", "password"]},
        {
            "properties": {"grant_type": {"const": "refresh_token"}},
            "required": ["grant_type", "refresh_token"],
        },
    ]
}


class OAuth2TokenRequest(BaseModel):
    """The form of `/account/token` (RFC 6749 §4.3 and §6); `client_id` and `scope` ignored."""

    model_config = ConfigDict(json_schema_extra=GRANTS_SCHEMA)

    grant_type: Annotated[
        str, Field(min_length=1, max_length=100, json_schema_extra={"enum": GRANT_TYPES})
    ] = "password"
    username: Annotated[str, Field(min_length=1, max_length=600)] | None = None
    password: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    refresh_token: Token | None = None
    client_id: Annotated[str, Field(max_length=200)] | None = None
    scope: Annotated[str, Field(max_length=1000)] | None = None


class OAuth2Error(BaseModel):
    """An RFC 6749 error response, with authgate's `code` and localised `detail`."""

    error: str
    error_description: str
    code: str
    detail: str


class GrantRefused(OAuth2Error):
    """`/account/token`'s 400: the grant failed (`invalid_grant`, with the reason's `code`), or
    the request was not one (`invalid_request`, `unsupported_grant_type`)."""

    error: Literal["invalid_grant", "invalid_request", "unsupported_grant_type"]
    code: Literal[
        "invalid_credentials", "token_invalid", "token_expired", "token_revoked", "token_reused",
        "validation_error", "unsupported_grant_type", "unsupported_media_type",
    ]  # fmt: skip


class SecondFactorRequired(OAuth2Error):
    """`/account/token`'s 401: the password was right; finish with `POST /account/login/mfa`."""

    error: Literal["mfa_required"]
    code: Literal["mfa_required"]
    mfa_token: str


class TemporarilyUnavailable(OAuth2Error):
    error: Literal["temporarily_unavailable"]
    code: Literal["rate_limited", "service_unavailable"]


class RevokeRefused(OAuth2Error):
    """`/account/revoke`'s 400: not a revocation request (whatever the token, it is 200)."""

    error: Literal["invalid_request"]
    code: Literal["validation_error", "unsupported_media_type"]


class RevokeRequest(BaseModel):
    """RFC 7009: the token to revoke (refresh or access) and an optional hint of its kind."""

    token: Token
    token_type_hint: Annotated[str, Field(max_length=100)] | None = None
    client_id: Annotated[str, Field(max_length=200)] | None = None


class AuthorizationServerMetadata(BaseModel):
    """RFC 8414 metadata of the token endpoint: what standard OAuth2 clients discover."""

    issuer: str
    token_endpoint: str
    revocation_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint_auth_methods_supported: list[str]
    response_types_supported: list[str]


class RefreshRequest(BaseModel):
    refresh: Token


class RefreshResult(BaseModel):
    """A new access token; a new refresh token too when rotation is on."""

    access: str
    refresh: str | None = None


class VerifyRequest(BaseModel):
    token: Token


class Verified(BaseModel):
    """An empty object: the token is good."""

    model_config = ConfigDict(extra="forbid")


class SessionRead(BaseModel):
    id: uuid.UUID
    kind: Literal["cookie", "token"]
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str
    ip: str
    current: bool

    @classmethod
    def of(cls, session: Any, *, current: bool) -> "SessionRead":
        fields = (name for name in cls.model_fields if name != "current")
        return cls(**{name: getattr(session, name) for name in fields}, current=current)
