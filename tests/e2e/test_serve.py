"""`authgate serve` as a process: it migrates first, serves, and refuses unsafe settings."""

import httpx
import pytest

pytestmark = pytest.mark.e2e


def test_serve_migrates_then_serves(serve):
    server = serve()
    assert (server.data_dir / "authgate.db").exists()
    assert (server.data_dir / "secret_key").stat().st_mode & 0o777 == 0o600
    response = httpx.get(f"{server.url}/api/info", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "operational"
    assert response.headers["x-api-version"] == response.json()["version"]
    response = httpx.post(
        f"{server.url}/signup", json={"username": "served", "password": "correct-horse-battery"}
    )
    assert response.status_code == 201, response.text


def test_unsafe_settings_stop_serve_with_a_message(serve):
    with pytest.raises(pytest.fail.Exception, match="AUTHGATE_SECRET_KEY must be at least 32"):
        serve(env={"AUTHGATE_SECRET_KEY": "too-short"}, timeout=30)
