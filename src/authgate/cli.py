"""The `authgate` command: serve, migrate, create-admin, keys, import-users, cors."""

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from pydantic import ValidationError

from authgate.settings import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

if TYPE_CHECKING:
    from authgate.compose import Services

T = TypeVar("T")
cli = typer.Typer(help="authgate: accounts, sessions and tokens.", no_args_is_help=True)
keys_cli = typer.Typer(help="JWT signing keys (EdDSA, ES256, RS256).", no_args_is_help=True)
cli.add_typer(keys_cli, name="keys")


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        typer.secho(f"authgate: refusing to start: {problems}", err=True, fg="red")
        raise typer.Exit(2) from None


def prepared_settings() -> Settings:
    """The settings, with the database migrated; one clear sentence and exit 2 otherwise."""
    from authgate.migrate import StartupError, prepare

    settings = load_settings()
    try:
        prepare(settings)
    except StartupError as exc:
        typer.secho(f"authgate: cannot start: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    return settings


def run_with(settings: Settings, work: "Callable[[Services], Awaitable[T]]") -> T:
    """Run `work` with the service's collaborators, built as the server builds them."""
    from authgate import compose

    async def main() -> T:
        services = compose.build(settings)
        try:
            return await work(services)
        finally:
            await services.close()

    return asyncio.run(main())


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Migrate the database, then serve the API with uvicorn."""
    import uvicorn

    from authgate.logs import configure_logging
    from authgate.security.passwords import default_hash_threads
    from authgate.serving import metrics_folder, uvicorn_options

    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    settings = prepared_settings()
    if workers > 1:
        if settings.hash_threads is None:
            # The workers share the CPUs: one hashing thread per CPU in all. Two workers with
            # two threads each did log-ins at 0.75-0.79x the hash-bound limit, one each
            # 0.87-0.93x.
            os.environ["AUTHGATE_HASH_THREADS"] = str(default_hash_threads(workers))
        # Read by prometheus-client in each worker, a fresh process that imports it anew:
        # every worker counts in the one folder, and a scrape of any sums them all. (One
        # worker is this process, which counts in its own memory.)
        try:
            os.environ[MULTIPROC_ENV] = str(metrics_folder(settings.data_dir))
        except OSError as exc:
            typer.secho(f"authgate: cannot start: no metrics folder: {exc}", err=True, fg="red")
            raise typer.Exit(2) from None
    uvicorn.run(
        "authgate.app:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **uvicorn_options(settings),
    )


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    prepared_settings()
    typer.echo("database is up to date")


@cli.command("create-admin")
def create_admin(
    username: str,
    email: Annotated[str | None, typer.Option(help="E-mail address")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Create an administrator (the password is prompted for, or read from stdin)."""
    from authgate.admin.bootstrap import create_admin_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = prepared_settings()
    try:
        user_id = run_with(
            settings,
            lambda s: create_admin_user(
                s.db, s.hasher, settings.password_min_length, username, password, email
            ),
        )
    except ValueError as exc:
        typer.secho(f"authgate: {exc}", err=True, fg="red")
        raise typer.Exit(1) from None
    typer.echo(f"created admin {username!r} (id {user_id})")


cors_cli = typer.Typer(help="Origins allowed at run time, beside AUTHGATE_CORS_ORIGINS.",
                       no_args_is_help=True)  # fmt: skip
cli.add_typer(cors_cli, name="cors")


@cors_cli.command("add")
def cors_add(origin: Annotated[str, typer.Argument(help="scheme://host[:port]")]) -> None:
    """Allow ORIGIN; running servers honour it within 2 seconds."""
    from authgate.cors import service
    from authgate.db import utcnow

    settings = prepared_settings()
    try:
        row, created = run_with(
            settings, lambda s: s.db.write(lambda c: service.add_origin(c, origin, utcnow()))
        )
        origin = row.origin
    except ValueError as exc:
        typer.secho(f"authgate: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    typer.echo(f"added {origin}" if created else f"{origin} was already allowed")


@cors_cli.command("list")
def cors_list() -> None:
    """List the allowed origins: from settings, then those added at run time."""
    from authgate.cors import service

    settings = prepared_settings()
    for origin in settings.cors_origins:
        typer.echo(f"{origin}\tsettings")
    if settings.cors_origin_regex:
        typer.echo(f"{settings.cors_origin_regex}\tsettings (regex)")
    for origin in run_with(settings, lambda s: s.db.read(service.list_origins)):
        typer.echo(f"{origin}\trun time")


@cors_cli.command("remove")
def cors_remove(origin: Annotated[str, typer.Argument(help="scheme://host[:port]")]) -> None:
    """Stop allowing ORIGIN (one added at run time); running servers honour it within 2 s."""
    from authgate.cors import service
    from authgate.errors import NotFound

    settings = prepared_settings()
    try:
        run_with(settings, lambda s: s.db.write(lambda c: service.remove_origin(c, origin)))
    except ValueError as exc:
        typer.secho(f"authgate: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    except NotFound:
        typer.secho(f"authgate: {origin} is not a run-time origin", err=True, fg="red")
        raise typer.Exit(1) from None
    typer.echo(f"removed {origin}")


@keys_cli.command("rotate")
def rotate_keys() -> None:
    """Sign with a new key; tokens signed by the previous one verify until they expire."""
    from authgate.db import utcnow
    from authgate.security import keystore
    from authgate.security.keyring import HMAC

    settings = prepared_settings()
    if settings.jwt_algorithm == HMAC:
        typer.secho(
            "authgate: HS256 signs with AUTHGATE_SECRET_KEY and has no key pair to rotate; "
            "set AUTHGATE_JWT_ALGORITHM to EdDSA, ES256 or RS256 to use rotating keys",
            err=True,
            fg="red",
        )
        raise typer.Exit(1)

    async def rotate(services: "Services") -> tuple[str, list[str]]:
        # Load first: on a first run that imports an older version's keys, which must verify.
        await services.keys.load()
        cipher = keystore.KeyCipher(services.secret_key)
        return await services.db.write(
            lambda c: keystore.rotate(
                c, settings.jwt_algorithm, cipher, settings.access_token_lifetime, utcnow()
            )
        )  # announces the change: running instances sign with the new key within 2 s

    kid, pruned = run_with(settings, rotate)
    typer.echo(f"new {settings.jwt_algorithm} signing key {kid}")
    if pruned:
        typer.echo(f"removed retired keys: {', '.join(pruned)}")


@cli.command("import-users")
def import_users(
    file: Annotated[Path, typer.Argument(help="JSON written by `manage.py dumpdata auth.User`")],
) -> None:
    """Import users from a Django `dumpdata auth.User` export; existing names are skipped."""
    from authgate.accounts.importer import ImportFormatError, import_users, parse_export

    try:
        users = parse_export(file.read_bytes())
    except OSError as exc:
        typer.secho(f"authgate: cannot read {file}: {exc.strerror}", err=True, fg="red")
        raise typer.Exit(1) from None
    except ImportFormatError as exc:
        typer.secho(
            f"authgate: {file} is not a Django user export: {exc}. Nothing was imported.",
            err=True,
            fg="red",
        )
        raise typer.Exit(1) from None
    settings = prepared_settings()
    report = run_with(settings, lambda s: s.db.write(lambda c: import_users(c, users)))
    for name in report.skipped:
        typer.echo(f"skipped {name!r}: a user with that name already exists")
    for name in report.without_email:
        typer.echo(f"imported {name!r} without an e-mail address: another user has it")
    for name in report.unusable_password:
        typer.echo(f"imported {name!r} with a password hash authgate cannot verify: reset it")
    typer.echo(f"imported {len(report.imported)} users, skipped {len(report.skipped)}")


def main() -> None:
    cli()
