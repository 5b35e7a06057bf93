"""Shapes of the browser routes' answers."""

from pydantic import BaseModel

from authgate.accounts.schemas import UserRead


class SignupResult(BaseModel):
    message: str
    status: str = "success"
    user: UserRead


class LoginResult(BaseModel):
    message: str
    user: UserRead


class ServiceInfo(BaseModel):
    service: str
    description: str
    status: str
    version: str
