"""`authgate cors add|list|remove`, and start-up refusing unsafe CORS settings."""

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from authgate.changes import Change, Topic
from authgate.cli import cli
from authgate.hostfeed import HostFeed
from authgate.settings import Settings


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    runner = CliRunner()
    env = {"AUTHGATE_DATA_DIR": str(tmp_path / "data"), "AUTHGATE_CORS_ORIGINS": ""}

    def invoke(*args: str, **extra_env: str):  # type: ignore[no-untyped-def]
        return runner.invoke(cli, list(args), env={**env, **extra_env})

    return invoke


def test_add_list_remove(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("cors", "add", "HTTP://LocalHost:5173")
    assert result.exit_code == 0, result.output
    assert result.output == "added http://localhost:5173\n"
    feed = HostFeed(tmp_path / "data")
    try:
        added, changes = feed.read(0)
        assert changes == [Change(Topic.CORS)]  # running servers reload on this
        result = run("cors", "add", "http://localhost:5173")
        assert result.output == "http://localhost:5173 was already allowed\n"
        assert feed.position() == added  # nothing changed, nothing announced
        result = run("cors", "list", AUTHGATE_CORS_ORIGINS="https://app.example")
        assert result.exit_code == 0, result.output
        assert result.output == ("https://app.example\tsettings\nhttp://localhost:5173\trun time\n")
        result = run("cors", "remove", "http://localhost:5173")
        assert result.exit_code == 0, result.output
        assert result.output == "removed http://localhost:5173\n"
        assert feed.read(added)[1] == [Change(Topic.CORS)]
    finally:
        feed.close()
    result = run("cors", "remove", "http://localhost:5173")
    assert result.exit_code == 1
    assert "not a run-time origin" in result.output


@pytest.mark.parametrize("origin", ["http://localhost:5173/", "localhost:5173", "ftp://x.example"])
def test_add_refuses_what_is_not_an_origin(run, origin: str) -> None:  # type: ignore[no-untyped-def]
    result = run("cors", "add", origin)
    assert result.exit_code == 2
    assert "authgate:" in result.output


def test_serve_refuses_star_with_credentials(run) -> None:  # type: ignore[no-untyped-def]
    result = run("serve", AUTHGATE_CORS_ORIGINS="*")
    assert result.exit_code == 2
    assert "refusing to start" in result.output
    assert "cannot be combined with AUTHGATE_CORS_ALLOW_CREDENTIALS=true" in result.output


def test_serve_refuses_a_listed_origin_with_a_path(run) -> None:  # type: ignore[no-untyped-def]
    result = run("serve", AUTHGATE_CORS_ORIGINS="https://app.example/")
    assert result.exit_code == 2
    assert "AUTHGATE_CORS_ORIGINS: 'https://app.example/'" in result.output


def test_star_is_allowed_without_credentials(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, cors_origins="*", cors_allow_credentials=False)  # type: ignore[arg-type]
    assert settings.cors_origins == ["*"]


def test_samesite_none_requires_secure(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="requires AUTHGATE_COOKIE_SECURE=true"):
        Settings(data_dir=tmp_path, cookie_samesite="none")
    settings = Settings(data_dir=tmp_path, cookie_samesite="none", cookie_secure=True)
    assert settings.cookie_samesite == "none"
