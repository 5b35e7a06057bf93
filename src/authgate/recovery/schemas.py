"""Pydantic shapes of the password-reset and verification routes."""

from typing import Annotated

from pydantic import BaseModel, EmailStr, Field

from authgate.accounts.schemas import Password

# Long enough for any token a client might mix up (a JWT); the service refuses the rest.
LinkToken = Annotated[str, Field(min_length=1, max_length=4096)]


class PasswordResetRequest(BaseModel):
    email: EmailStr


class PasswordResetConfirm(BaseModel):
    token: LinkToken
    new_password: Password


class EmailVerification(BaseModel):
    token: LinkToken
