"""`authgate serve`'s uvicorn options come from the settings; the protocol is uvicorn's, guarded."""

from pathlib import Path

import pytest
from pydantic import ValidationError
from uvicorn.config import Config
from uvicorn.importer import import_from_string
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from authgate import Settings
from authgate.protocol import GuardedHttpToolsProtocol
from authgate.serving import uvicorn_options


def test_defaults(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.max_header_bytes == 16 * 1024
    assert settings.max_headers == 100
    assert settings.header_timeout == 20
    assert settings.body_timeout == 30
    assert settings.keep_alive_timeout == 5


def test_uvicorn_options_follow_the_settings(tmp_path: Path) -> None:
    options = uvicorn_options(Settings(data_dir=tmp_path, keep_alive_timeout=2.5))
    assert options["timeout_keep_alive"] == 2.5
    assert options["proxy_headers"] is False
    protocol = import_from_string(options["http"])
    assert protocol is GuardedHttpToolsProtocol
    assert issubclass(protocol, HttpToolsProtocol)
    config = Config("authgate.app:create_served_app", factory=True, **options)
    assert config.timeout_keep_alive == 2.5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_header_bytes", 100),
        ("max_headers", 0),
        ("header_timeout", 0),
        ("body_timeout", -1),
        ("keep_alive_timeout", 0),
    ],
)
def test_unsafe_limits_are_refused(tmp_path: Path, name: str, value: float) -> None:
    with pytest.raises(ValidationError, match=name):
        Settings(data_dir=tmp_path, **{name: value})  # type: ignore[arg-type]
