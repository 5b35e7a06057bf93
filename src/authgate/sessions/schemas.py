"""Pydantic shapes of the token routes and of log-in sessions."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Token = Annotated[str, Field(min_length=1, max_length=4096)]


class TokenLogin(BaseModel):
    """`/account/login`: the tutorial's (simplejwt's) shape, plus token_type and expires_in."""

    message: str
    access: str
    refresh: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class OAuth2Token(BaseModel):
    """`/account/token`: an RFC 6749 access token response."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class OAuth2Error(BaseModel):
    """An RFC 6749 error response, with authgate's `code` and localised `detail`."""

    error: str
    code: str
    detail: str


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
