"""Run the migrations shipped inside the package, from the CLI, `serve` and tests."""

import tempfile

from alembic import command
from alembic.config import Config
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from authgate.settings import Settings


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", "authgate:migrations")
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the database to `revision`, creating the data folder for SQLite first."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings.effective_database_url), revision)


class StartupError(Exception):
    """Why the service cannot start, in one sentence for the person starting it."""


def prepare(settings: Settings) -> None:
    """`upgrade`, with every failure turned into a StartupError that says what to fix."""
    folder = settings.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise StartupError(
            f"the data folder {folder} cannot be written ({exc.strerror}): make it writable "
            "by this user, or set AUTHGATE_DATA_DIR to one that is"
        ) from None
    url = settings.effective_database_url
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        raise StartupError(
            f"AUTHGATE_DATABASE_URL is not a database URL: {url!r} (for example "
            "postgresql+asyncpg://user:password@host/db)"
        ) from None
    try:
        upgrade(settings)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise StartupError(f"AUTHGATE_DATABASE_URL cannot be used: {exc}") from None
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        raise StartupError(f"cannot open or migrate the database {shown}: {reason}") from None
