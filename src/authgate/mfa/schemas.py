"""Pydantic shapes of the second-factor routes."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from authgate.schemas import check_exactly_one, exactly_one_of

Code = Annotated[str, Field(min_length=1, max_length=64)]


class TotpSetupRead(BaseModel):
    """A pending TOTP secret: show the QR code (or the secret) to the user's authenticator app,
    then confirm with a first code."""

    secret: str
    otpauth_uri: str
    qr_svg: str


class CodeInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code


class RecoveryCodes(BaseModel):
    """Ten single-use codes, shown this once: each finishes one log-in without the app."""

    recovery_codes: list[str]


class TotpConfirmed(RecoveryCodes):
    """The recovery codes; under mandatory MFA, a session that had to enrol is replaced by a
    new one: a token session's new pair here (a cookie session gets new cookies instead)."""

    access: str | None = None
    refresh: str | None = None
    token_type: Literal["bearer"] | None = None
    expires_in: int | None = None


class MfaLogin(BaseModel):
    """The second step of a log-in: the `mfa_token` of `mfa_required`, and a TOTP code or a
    recovery code."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=exactly_one_of("code", "recovery_code")
    )

    mfa_token: Annotated[str, Field(min_length=1, max_length=200)]
    code: Code | None = None
    recovery_code: Code | None = None

    @model_validator(mode="after")
    def one_factor(self) -> "MfaLogin":
        check_exactly_one(self, "code", "recovery_code")
        return self
