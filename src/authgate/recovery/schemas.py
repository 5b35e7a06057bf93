"""Pydantic shapes of the password-reset and verification routes."""

from typing import Annotated

from pydantic import BaseModel, Field

from authgate.accounts.schemas import Email, NewPassword

# Long enough for any token a client might mix up (a JWT); the service refuses the rest.
LinkToken = Annotated[str, Field(min_length=1, max_length=4096)]


class PasswordResetRequest(BaseModel):
    email: Email


class PasswordResetConfirm(BaseModel):
    token: LinkToken
    new_password: NewPassword


class EmailVerification(BaseModel):
    token: LinkToken
