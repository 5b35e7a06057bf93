"""Settings from `AUTHGATE_*` environment variables and `.env`; unsafe combinations are refused."""

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError

from authgate.origin import normalise_origin

RATE = re.compile(r"^\d+\s*(/|per)\s*\d*\s*(second|minute|hour|day)s?$", re.IGNORECASE)
DEFAULT_EXPOSE_HEADERS = (
    "X-Process-Time, X-API-Version, X-Request-ID, Content-Language, ETag, Location, Retry-After, "
    "X-CSRF-Token"
)
CommaList = Annotated[list[str], NoDecode]


class SettingsError(ValueError):
    """A setting, or a combination of settings, that authgate refuses to start with."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AUTHGATE_", env_file=".env", extra="ignore", validate_default=True
    )

    data_dir: Path = Path(".authgate")
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: str | None = None
    default_language: Literal["en", "ko"] = "en"
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    # What one connection may cost `authgate serve` (authgate.protocol; README says why these).
    max_header_bytes: int = Field(16 * 1024, ge=1024)
    max_headers: int = Field(100, ge=10)
    header_timeout: float = Field(20.0, gt=0)
    body_timeout: float = Field(30.0, gt=0)
    keep_alive_timeout: float = Field(5.0, gt=0)

    password_min_length: int = Field(8, ge=1, le=1024)
    argon2_time_cost: int = Field(2, ge=1)
    argon2_memory_cost: int = Field(19456, ge=8, description="KiB")
    argon2_parallelism: int = Field(1, ge=1)
    hash_threads: int | None = Field(None, ge=1)

    jwt_algorithm: Literal["HS256", "EdDSA", "ES256", "RS256"] = "HS256"
    jwt_issuer: str = "authgate"
    jwt_audience: str = "authgate"
    access_token_lifetime: int = Field(300, ge=1)
    refresh_token_lifetime: int = Field(86400, ge=60)
    rotate_refresh_tokens: bool = True

    session_cookie_age: int = Field(3600, ge=60)
    # However active, a session ends this long after its log-in (30 days).
    session_absolute_lifetime: int = Field(2_592_000, ge=1)
    # How long the `mfa_token` of a log-in's password step waits for the second factor.
    mfa_challenge_lifetime: int = Field(300, ge=30, le=3600)
    # Mandatory MFA (ASVS 6.3.3): a session proven by a password alone may only enrol a second
    # factor (and step up with it); every other protected route answers 403.
    mfa_required: bool = False
    # Sensitive changes need a proof of identity this recent on the session (step-up).
    reauth_window: int = Field(300, ge=1)
    # Passkeys: the site's domain, and the exact origins its pages run on (default https://<id>).
    webauthn_rp_id: str = "localhost"
    webauthn_rp_name: str = "authgate"
    webauthn_origins: CommaList = []
    cookie_secure: bool = False
    cookie_samesite: Literal["lax", "strict", "none"] = "lax"
    cookie_domain: str | None = None
    cookie_host_prefix: bool = False
    trusted_proxies: CommaList = []

    cors_origins: CommaList = []
    cors_origin_regex: str | None = None
    cors_allow_credentials: bool = True
    cors_allow_methods: CommaList = ["*"]
    cors_allow_headers: CommaList = ["*"]
    cors_expose_headers: CommaList = DEFAULT_EXPOSE_HEADERS.split(", ")
    cors_max_age: int = Field(600, ge=0)

    rate_limit_enabled: bool = True
    rate_limit_login: str = "10/minute"
    rate_limit_login_ip: str = "60/minute"
    rate_limit_signup: str = "20/hour"
    rate_limit_password_reset: str = "5/hour"

    # E-mail (issue 11). No SMTP host: mails are written as .eml files under <data_dir>/outbox.
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout: float = Field(30.0, gt=0)
    email_from: str = "authgate@localhost"
    public_url: str = "http://127.0.0.1:8000"  # the base of authgate's own /ui pages
    password_reset_url: str | None = None  # a template: {token} is replaced
    email_verify_url: str | None = None
    password_reset_lifetime: int = Field(3600, ge=60)
    email_verify_lifetime: int = Field(86400, ge=60)
    mail_poll_interval: float = Field(2.0, gt=0)  # how often idle senders look for due mail
    mail_retry_base: float = Field(5.0, gt=0)  # first back-off after a failed delivery, doubled
    mail_retry_max: float = Field(3600.0, gt=0)
    mail_lease: float = Field(120.0, gt=0)  # a claim lapses after this; more than smtp_timeout
    audit_retention_days: int = Field(90, ge=1)
    # None: text on a terminal, JSON lines otherwise (a log collector).
    log_format: Literal["json", "text"] | None = None
    # `warning` leaves out the line per request and per security event (they are `info`).
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator(
        "trusted_proxies",
        "cors_origins",
        "webauthn_origins",
        "cors_allow_methods",
        "cors_allow_headers",
        "cors_expose_headers",
        mode="before",
    )
    @classmethod
    def split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("password_reset_url", "email_verify_url")
    @classmethod
    def check_link_template(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and "{token}" not in value:
            name = f"AUTHGATE_{(info.field_name or '').upper()}"
            raise ValueError(f"{name} must contain {{token}}")
        return value or None

    @field_validator("mail_lease")
    @classmethod
    def check_lease(cls, value: float, info: ValidationInfo) -> float:
        # A sender starts a mail only while its claim outlives the server's longest answer.
        if value <= info.data.get("smtp_timeout", 0):
            raise ValueError("AUTHGATE_MAIL_LEASE must be longer than AUTHGATE_SMTP_TIMEOUT")
        return value

    @field_validator(
        "cookie_samesite",
        "default_language",
        "smtp_security",
        "log_format",
        "log_level",
        mode="before",
    )
    @classmethod
    def lower_case(cls, value: object) -> object:
        # `Lax`, `None` and `KO` are how people write them; the checks below want one spelling.
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def check_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"AUTHGATE_TRUSTED_PROXIES: {entry!r} is not an IP address or network"
                ) from None
        return value

    @field_validator(
        "rate_limit_login",
        "rate_limit_login_ip",
        "rate_limit_signup",
        "rate_limit_password_reset",
    )
    @classmethod
    def check_rate(cls, value: str, info: ValidationInfo) -> str:
        if not RATE.match(value.strip()):
            name = f"AUTHGATE_{(info.field_name or '').upper()}"
            raise ValueError(f"{name} must look like '10/minute', not {value!r}")
        return value.strip()

    @field_validator("secret_key")
    @classmethod
    def check_secret(cls, value: str | None) -> str | None:
        # A short HMAC key can be brute-forced offline from any token it signed.
        if value is not None and len(value) < 32:
            raise ValueError("AUTHGATE_SECRET_KEY must be at least 32 characters")
        return value

    @field_validator("database_url")
    @classmethod
    def check_database_url(cls, value: str | None) -> str | None:
        if value:
            try:
                make_url(value)
            except ArgumentError:
                raise ValueError(f"AUTHGATE_DATABASE_URL is not a URL: {value!r}") from None
        return value or None

    @field_validator("cors_origins")
    @classmethod
    def check_origins(cls, value: list[str]) -> list[str]:
        # Browsers send an origin in one exact form; a listed 'https://app.example/' or
        # 'https://app.example:443' would silently never match, so refuse or normalise it.
        normalised = []
        for origin in value:
            try:
                normalised.append(origin if origin == "*" else normalise_origin(origin))
            except ValueError as exc:
                raise ValueError(f"AUTHGATE_CORS_ORIGINS: {origin!r}: {exc}") from None
        return normalised

    @field_validator("webauthn_origins")
    @classmethod
    def check_webauthn_origins(cls, value: list[str]) -> list[str]:
        # Browsers put the page's exact origin in clientDataJSON: compared as such, unlisted
        # spellings ('https://app.example/') would refuse every passkey.
        try:
            return [normalise_origin(origin) for origin in value]
        except ValueError as exc:
            raise ValueError(f"AUTHGATE_WEBAUTHN_ORIGINS: {exc}") from None

    @field_validator("cors_origin_regex")
    @classmethod
    def check_regex(cls, value: str | None) -> str | None:
        if value:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(
                    f"AUTHGATE_CORS_ORIGIN_REGEX is not a valid regex: {exc}"
                ) from None
        return value or None

    @model_validator(mode="after")
    def refuse_unsafe(self) -> "Settings":
        # Browsers drop SameSite=None cookies that are not Secure, and a non-Secure cross-site
        # session cookie would travel in clear text anyway.
        if self.cookie_samesite == "none" and not self.cookie_secure:
            raise ValueError("AUTHGATE_COOKIE_SAMESITE=none requires AUTHGATE_COOKIE_SECURE=true")
        # Browsers refuse a `__Host-` cookie that is not Secure or that names a Domain.
        if self.cookie_host_prefix and not self.cookie_secure:
            raise ValueError(
                "AUTHGATE_COOKIE_HOST_PREFIX=true requires AUTHGATE_COOKIE_SECURE=true"
            )
        if self.cookie_host_prefix and self.cookie_domain:
            raise ValueError(
                "AUTHGATE_COOKIE_HOST_PREFIX=true cannot be combined with AUTHGATE_COOKIE_DOMAIN: "
                "a __Host- cookie belongs to one host only"
            )
        # '*' with credentials would let any web site act as the logged-in user: Starlette
        # reflects the caller's origin in that case instead of sending '*'.
        if self.cors_allow_credentials and "*" in self.cors_origins:
            raise ValueError(
                "AUTHGATE_CORS_ORIGINS='*' cannot be combined with "
                "AUTHGATE_CORS_ALLOW_CREDENTIALS=true: list the front-end origins instead"
            )
        # A generated secret lives in one data folder: instances on other hosts would refuse
        # each other's HS256 tokens and could not decrypt the signing keys in the database.
        if self.secret_key is None and not self.is_sqlite:
            raise ValueError(
                "AUTHGATE_SECRET_KEY must be set when the database is PostgreSQL: every "
                "instance sharing the database, on any host, must use the same secret key (it "
                "signs HS256 tokens and encrypts the signing keys kept in the database), and a "
                "generated one would live in one instance's data folder only"
            )
        return self

    @property
    def effective_webauthn_origins(self) -> list[str]:
        return self.webauthn_origins or [f"https://{self.webauthn_rp_id}"]

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.effective_database_url).get_backend_name() == "sqlite"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'authgate.db'}"
