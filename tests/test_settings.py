"""Settings: environment, `.env`, refusals of unsafe values, and the generated secret key."""

import os
import stat

import pytest
from pydantic import ValidationError

from authgate import Settings, create_app
from authgate.db import is_sqlite_url
from authgate.security.keys import SECRET_FILE, load_secret_key
from authgate.sessions.dependencies import CurrentUser
from tests.apps import running_app
from tests.helpers import csrf_headers, signup

RATE_SETTINGS = [
    "rate_limit_login",
    "rate_limit_login_ip",
    "rate_limit_signup",
    "rate_limit_password_reset",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No AUTHGATE_* variable and no .env from the developer's shell or checkout."""
    for name in list(os.environ):
        if name.startswith("AUTHGATE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def refused(**values) -> str:
    with pytest.raises(ValidationError) as info:
        Settings(**values)
    return str(info.value)


def test_defaults():
    settings = Settings()
    assert settings.default_language == "en"
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.session_cookie_age == 3600
    assert settings.cookie_samesite == "lax"
    assert settings.cookie_secure is False
    assert settings.trusted_proxies == []
    assert settings.cors_allow_credentials is True
    assert settings.cors_expose_headers == [
        "X-Process-Time",
        "X-API-Version",
        "X-Request-ID",
        "Content-Language",
        "ETag",
        "Location",
        "Retry-After",
        "X-CSRF-Token",  # added by the CORS issue: SPAs on other origins read the token here
    ]
    assert is_sqlite_url(settings.effective_database_url)
    assert settings.effective_database_url.startswith("sqlite:///")  # the stdlib driver
    assert settings.effective_database_url.endswith(".authgate/authgate.db")


def test_samesite_none_needs_secure(monkeypatch):
    message = "AUTHGATE_COOKIE_SAMESITE=none requires AUTHGATE_COOKIE_SECURE=true"
    assert message in refused(cookie_samesite="none")
    monkeypatch.setenv("AUTHGATE_COOKIE_SAMESITE", "none")
    assert message in refused()
    monkeypatch.setenv("AUTHGATE_COOKIE_SECURE", "true")
    assert Settings().cookie_samesite == "none"


def test_enumerated_values_ignore_case(monkeypatch):
    monkeypatch.setenv("AUTHGATE_COOKIE_SAMESITE", "Strict")
    monkeypatch.setenv("AUTHGATE_DEFAULT_LANGUAGE", "KO")
    settings = Settings()
    assert (settings.cookie_samesite, settings.default_language) == ("strict", "ko")
    assert "requires AUTHGATE_COOKIE_SECURE=true" in refused(cookie_samesite="None")
    assert "default_language" in refused(default_language="fr")


def test_a_star_origin_with_credentials_is_refused(monkeypatch):
    monkeypatch.setenv("AUTHGATE_CORS_ORIGINS", "https://app.example, *")
    assert "AUTHGATE_CORS_ORIGINS='*' cannot be combined" in refused()
    monkeypatch.setenv("AUTHGATE_CORS_ALLOW_CREDENTIALS", "false")
    assert Settings().cors_origins == ["https://app.example", "*"]


def test_a_short_secret_key_is_refused(monkeypatch):
    assert "AUTHGATE_SECRET_KEY must be at least 32 characters" in refused(secret_key="x" * 31)
    assert Settings(secret_key="x" * 32).secret_key == "x" * 32
    monkeypatch.setenv("AUTHGATE_SECRET_KEY", "short")
    assert "at least 32 characters" in refused()


def test_postgresql_needs_an_explicit_secret_key(monkeypatch):
    url = "postgresql+asyncpg://authgate@db.internal/authgate"
    message = refused(database_url=url)
    assert "AUTHGATE_SECRET_KEY must be set when the database is PostgreSQL" in message
    assert "every instance sharing the database" in message
    assert "one instance's data folder only" in message
    monkeypatch.setenv("AUTHGATE_DATABASE_URL", url)
    assert "AUTHGATE_SECRET_KEY must be set" in refused()
    assert Settings(secret_key="x" * 32).database_url == url
    monkeypatch.delenv("AUTHGATE_DATABASE_URL")
    assert Settings().secret_key is None  # SQLite, one host: a generated secret is fine


def test_a_malformed_database_url_is_refused():
    assert "AUTHGATE_DATABASE_URL is not a URL" in refused(database_url="not a url")
    assert Settings(database_url="").database_url is None


@pytest.mark.parametrize("name", RATE_SETTINGS)
@pytest.mark.parametrize("value", ["ten/minute", "10", "10/fortnight", "/minute", "10//minute", ""])
def test_a_malformed_rate_is_refused(name, value):
    message = refused(**{name: value})
    assert f"AUTHGATE_{name.upper()} must look like '10/minute'" in message


@pytest.mark.parametrize(
    "value", ["10/minute", "5 per hour", "100/day", "3/second", "10/2 minutes"]
)
def test_well_formed_rates(value):
    assert Settings(rate_limit_login=value).rate_limit_login == value


@pytest.mark.parametrize(
    "entry", ["proxy.internal", "10.0.0.300", "10.0.0.0/33", "*", "1.2.3.4:80"]
)
def test_a_malformed_trusted_proxy_is_refused(monkeypatch, entry):
    monkeypatch.setenv("AUTHGATE_TRUSTED_PROXIES", f"10.0.0.1,{entry}")
    message = refused()
    assert "AUTHGATE_TRUSTED_PROXIES" in message
    assert "is not an IP address or network" in message


def test_an_invalid_cors_regex_is_refused():
    assert "AUTHGATE_CORS_ORIGIN_REGEX is not a valid regex" in refused(cors_origin_regex="(")


def test_unsafe_settings_stop_create_app(monkeypatch):
    monkeypatch.setenv("AUTHGATE_COOKIE_SAMESITE", "none")
    with pytest.raises(ValidationError, match="requires AUTHGATE_COOKIE_SECURE=true"):
        create_app()


def test_comma_separated_lists_from_the_environment(monkeypatch):
    monkeypatch.setenv("AUTHGATE_TRUSTED_PROXIES", " 10.0.0.1, 192.168.0.0/16,::1 ,")
    monkeypatch.setenv("AUTHGATE_CORS_ORIGINS", "https://a.example,https://b.example:8443")
    monkeypatch.setenv("AUTHGATE_CORS_ALLOW_METHODS", "GET, POST")
    monkeypatch.setenv("AUTHGATE_CORS_EXPOSE_HEADERS", "")
    settings = Settings()
    assert settings.trusted_proxies == ["10.0.0.1", "192.168.0.0/16", "::1"]
    assert settings.cors_origins == ["https://a.example", "https://b.example:8443"]
    assert settings.cors_allow_methods == ["GET", "POST"]
    assert settings.cors_expose_headers == []


def test_a_dot_env_file_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(
        "AUTHGATE_SESSION_COOKIE_AGE=120\n"
        "AUTHGATE_DEFAULT_LANGUAGE=ko\n"
        "AUTHGATE_CORS_ORIGINS=https://x.example,https://y.example\n"
        "UNRELATED=1\n"
    )
    settings = Settings()
    assert settings.session_cookie_age == 120
    assert settings.default_language == "ko"
    assert settings.cors_origins == ["https://x.example", "https://y.example"]
    monkeypatch.setenv("AUTHGATE_SESSION_COOKIE_AGE", "600")
    assert Settings().session_cookie_age == 600


def test_unsafe_values_in_dot_env_are_refused_too(tmp_path):
    (tmp_path / ".env").write_text("AUTHGATE_COOKIE_SAMESITE=none\n")
    assert "requires AUTHGATE_COOKIE_SECURE=true" in refused()


def test_the_secret_key_is_generated_once_with_mode_0600(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    key = load_secret_key(settings)
    path = tmp_path / "data" / SECRET_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 32
    assert path.read_text().strip() == key
    assert load_secret_key(Settings(data_dir=tmp_path / "data")) == key
    assert load_secret_key(Settings(data_dir=tmp_path / "other")) != key


def test_a_configured_secret_key_writes_no_file(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", secret_key="k" * 40)
    assert load_secret_key(settings) == "k" * 40
    assert not (tmp_path / "data" / SECRET_FILE).exists()


async def test_sessions_survive_a_restart_with_a_generated_key(make_settings, clock):
    settings = make_settings(secret_key=None, rate_limit_enabled=False)
    async with running_app(settings, clock) as (first, client):
        await signup(client)
        cookies = dict(client.cookies)
    async with running_app(settings, clock) as (second, client):
        assert second.state.secret_key == first.state.secret_key

        async def me(user: CurrentUser) -> dict:
            return {"username": user.username}

        second.add_api_route("/test/me", me, methods=["POST"])
        for name, value in cookies.items():
            client.cookies.set(name, value)
        # The CSRF token is derived from the key: it still matches after the restart.
        response = await client.post("/test/me", headers=csrf_headers(client))
        assert response.status_code == 200
        assert response.json() == {"username": "alice"}
