"""The `authgate` command: serve, migrate, create-admin."""

import asyncio
import sys
from typing import Annotated

import typer
from pydantic import ValidationError

from authgate.settings import Settings

cli = typer.Typer(help="authgate: accounts, sessions and tokens.", no_args_is_help=True)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        typer.secho(f"authgate: refusing to start: {problems}", err=True, fg="red")
        raise typer.Exit(2) from None


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
) -> None:
    """Migrate the database, then serve the API with uvicorn."""
    import uvicorn

    from authgate.migrate import upgrade

    upgrade(load_settings())
    uvicorn.run(
        "authgate.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        # authgate judges X-Forwarded-* itself, from AUTHGATE_TRUSTED_PROXIES only.
        proxy_headers=False,
        server_header=False,
        access_log=False,
    )


@cli.command()
def migrate() -> None:
    """Bring the database schema up to date."""
    from authgate.migrate import upgrade

    settings = load_settings()
    upgrade(settings)
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
    from authgate.migrate import upgrade

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = load_settings()
    upgrade(settings)
    try:
        user_id = asyncio.run(create_admin_user(settings, username, password, email))
    except ValueError as exc:
        typer.secho(f"authgate: {exc}", err=True, fg="red")
        raise typer.Exit(1) from None
    typer.echo(f"created admin {username!r} (id {user_id})")


def main() -> None:
    cli()
