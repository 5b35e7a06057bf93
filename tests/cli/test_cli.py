"""`python -m authgate` as users run it: a real process, its exit code and what it prints."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect

from authgate import Settings, create_app
from tests.helpers import PASSWORD

SRC = Path(__file__).resolve().parents[2] / "src"
TIMEOUT = 60


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def authgate(data_dir: Path):  # type: ignore[no-untyped-def]
    """Run `python -m authgate ARGS` with its data folder in a tmp dir; returns the result."""
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "AUTHGATE_DATA_DIR": str(data_dir),
        "AUTHGATE_ARGON2_MEMORY_COST": "1024",
        "AUTHGATE_ARGON2_TIME_COST": "1",
    }
    env.pop("AUTHGATE_DATABASE_URL", None)

    def run(*args: str, stdin: str = "", **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "authgate", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**env, **extra_env},
            cwd=data_dir.parent,
            timeout=TIMEOUT,
            # No controlling terminal: a password prompt reads standard input, never a tty.
            start_new_session=True,
        )

    return run


def assert_refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


async def log_in(data_dir: Path, username: str, password: str) -> httpx.Response:
    """Log in through the app itself, on the database the command wrote."""
    app = create_app(Settings(data_dir=data_dir, rate_limit_enabled=False))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.post("/login", json={"username": username, "password": password})


def table_names(data_dir: Path) -> set[str]:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{data_dir / 'authgate.db'}")
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_help(authgate):
    result = authgate("--help")
    assert result.returncode == 0
    for command in ("serve", "migrate", "create-admin"):
        assert command in result.stdout
    result = authgate("create-admin", "--help")
    assert result.returncode == 0
    assert "--password-stdin" in result.stdout


def test_no_arguments_shows_help(authgate):
    result = authgate()
    assert "Usage" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_is_idempotent(authgate, data_dir):
    first = authgate("migrate")
    assert first.returncode == 0, first.stderr
    assert "up to date" in first.stdout
    tables = table_names(data_dir)
    assert {"user", "session", "refresh_token", "item", "cors_origin", "alembic_version"} <= tables
    second = authgate("migrate")
    assert second.returncode == 0, second.stderr
    assert table_names(data_dir) == tables


async def test_create_admin_from_stdin_can_log_in(authgate, data_dir):
    result = authgate("create-admin", "root", "--password-stdin", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert "root" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    response = await log_in(data_dir, "ROOT", PASSWORD)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["is_admin"] is True
    assert response.json()["user"]["username"] == "root"


async def test_create_admin_with_email(authgate, data_dir):
    result = authgate(
        "create-admin", "root", "--email", "root@example.com", "--password-stdin", stdin=PASSWORD
    )
    assert result.returncode == 0, result.stderr
    response = await log_in(data_dir, "root", PASSWORD)
    assert response.json()["user"]["email"] == "root@example.com"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 8 characters"),
        ("password", "too common"),
        ("rootroot", "must not be the username"),
        ("", "at least 1 character"),
    ],
)
def test_create_admin_refuses_a_policy_breaking_password(authgate, password, message):
    result = authgate("create-admin", "rootroot", "--password-stdin", stdin=password + "\n")
    assert_refused(result, message)
    assert password == "" or password not in result.stdout


def test_create_admin_refuses_a_taken_name(authgate):
    assert authgate("create-admin", "root", "--password-stdin", stdin=PASSWORD).returncode == 0
    result = authgate("create-admin", "Ｒｏｏｔ", "--password-stdin", stdin=PASSWORD)
    assert_refused(result, "already exists")


def test_create_admin_refuses_a_bad_username(authgate):
    result = authgate("create-admin", "bad name", "--password-stdin", stdin=PASSWORD)
    assert_refused(result, "authgate:")


async def test_create_admin_prompts_twice(authgate, data_dir):
    result = authgate("create-admin", "carol", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout
    response = await log_in(data_dir, "carol", PASSWORD)
    assert response.json()["user"]["is_admin"] is True


def test_create_admin_prompt_mismatch_creates_nobody(authgate, data_dir):
    result = authgate("create-admin", "dave", stdin=f"{PASSWORD}\nsomething-else-entirely\n")
    assert result.returncode != 0
    assert "do not match" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_unsafe_settings_are_refused_with_a_message(authgate):
    result = authgate("migrate", AUTHGATE_SECRET_KEY="too-short")
    assert_refused(result, "refusing to start")
    assert "AUTHGATE_SECRET_KEY must be at least 32 characters" in result.stderr


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"AUTHGATE_DATABASE_URL": "nonsense"}, "AUTHGATE_DATABASE_URL is not a URL"),
        (
            {"AUTHGATE_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/x",
             "AUTHGATE_SECRET_KEY": "k" * 40},
            "cannot open or migrate the database postgresql+asyncpg://postgres@127.0.0.1:1/x",
        ),
        ({"AUTHGATE_DATA_DIR": "/proc/authgate"}, "the data folder /proc/authgate cannot be"),
    ],
)  # fmt: skip
def test_start_up_problems_are_one_sentence_and_exit_2(authgate, variables, expected):
    for command in (("migrate",), ("serve", "--port", "1")):
        result = authgate(*command, **variables)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr  # no traceback
        assert lines[0].startswith(("authgate: cannot start: ", "authgate: refusing to start: "))
        assert expected in lines[0]


def test_postgresql_without_a_secret_key_is_refused(authgate):
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/nowhere"
    result = authgate("migrate", AUTHGATE_DATABASE_URL=url)
    assert_refused(result, "AUTHGATE_SECRET_KEY must be set when the database is PostgreSQL")


def signing_keys(data_dir: Path) -> list[tuple[str, bool]]:
    """(kid, is retired) of each stored key, oldest first."""
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{data_dir / 'authgate.db'}")
    try:
        with engine.connect() as connection:
            query = "SELECT kid, retired_at FROM signing_key ORDER BY created_at, kid"
            return [(kid, retired is not None) for kid, retired in connection.execute(text(query))]
    finally:
        engine.dispose()


async def test_keys_rotate(authgate, data_dir):
    result = authgate("keys", "rotate", AUTHGATE_JWT_ALGORITHM="EdDSA")
    assert result.returncode == 0, result.stderr
    # A first run creates the first key, then the one that signs from now on.
    [(first, retired), (second, current)] = signing_keys(data_dir)
    assert (retired, current) == (True, False)
    assert result.stdout.strip() == f"new EdDSA signing key {second}"
    result = authgate("keys", "rotate", AUTHGATE_JWT_ALGORITHM="EdDSA")
    assert result.returncode == 0, result.stderr
    assert [kid for kid, _ in signing_keys(data_dir)][:2] == [first, second]
    assert len(signing_keys(data_dir)) == 3  # nothing retired long enough to be pruned
    third = signing_keys(data_dir)[2][0]
    assert third.startswith("000003-") and third in result.stdout
    app = create_app(Settings(data_dir=data_dir, jwt_algorithm="EdDSA"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            keys = (await c.get("/.well-known/jwks.json")).json()["keys"]
    assert [key["kid"] for key in keys] == [third, second, first]


def test_keys_rotate_refuses_hs256(authgate):
    result = authgate("keys", "rotate")
    assert_refused(result, "HS256 signs with AUTHGATE_SECRET_KEY and has no key pair to rotate")
