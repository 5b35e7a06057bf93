"""Pydantic shapes of the passkey routes."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from authgate.schemas import PRINTABLE_PATTERN

Credential = Annotated[dict[str, Any], Field(description="The PublicKeyCredential, as JSON")]


class PasskeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None


class PasskeyRegistration(BaseModel):
    """The authenticator's answer to the registration options, and a name for the passkey."""

    credential: Credential
    name: Annotated[str, Field(max_length=100, pattern=PRINTABLE_PATTERN)] = ""


class PasskeyLoginRequest(BaseModel):
    """The authenticator's answer to the log-in options; `session` picks cookies or tokens."""

    credential: Credential
    session: Literal["token", "cookie"] = "token"
