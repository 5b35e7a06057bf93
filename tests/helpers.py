"""Helpers shared by tests: sign-up, the CSRF header, the app's database, and failures made
to order inside a unit of work."""

import httpx
from sqlalchemy import text

PASSWORD = "correct-horse-battery"
REFUSED = {"User-Agent": "refused"}  # a request whose new session cannot be stored


async def signup(
    client: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD, **extra: str
) -> dict:
    """Sign `username` up through /signup (JSON); the client keeps the cookies."""
    response = await client.post(
        "/signup", json={"username": username, "password": password, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()["user"]


def csrf_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies["csrftoken"]}


async def execute(app, statement, params=None):  # type: ignore[no-untyped-def]
    """Run one Core statement in a write unit of the app's database; its rows (or rowcount)."""

    def work(connection):  # type: ignore[no-untyped-def]
        result = connection.execute(statement, params or {})
        return result.all() if result.returns_rows else result.rowcount

    return await app.state.db.write(work)


async def fetch(app, statement, params=None):  # type: ignore[no-untyped-def]
    """The rows of one Core statement, read through the app's database."""
    return await app.state.db.read(lambda c: c.execute(statement, params or {}).all())


async def refuse_sessions(app) -> None:  # type: ignore[no-untyped-def]
    """From now on (SQLite), storing a session for a request with the REFUSED headers fails
    inside its unit of work, as a full disk or a lost connection would."""
    await execute(app, text(
        "CREATE TRIGGER refuse_session BEFORE INSERT ON session "
        "WHEN NEW.user_agent = 'refused' BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ))  # fmt: skip


def quiet_client(app) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    """A client of `app` that gets a server error as the 500 answer, not as an exception."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def mailed_token(app, kind: str) -> str:  # type: ignore[no-untyped-def]
    """The token in the link of the newest mail of `kind`, queued or already delivered.

    The app's sender runs: it may have written the mail to `<data_dir>/outbox/<id>.eml` (no SMTP
    server is set) and blanked the queued copy before the test looks.
    """
    import email
    import email.policy
    import re

    from sqlalchemy import select

    from authgate.mail.models import OutboxMail

    table = OutboxMail.__table__
    query = select(table.c.id, table.c.message).where(table.c.kind == kind).order_by(table.c.id)
    newest = (await fetch(app, query))[-1]
    delivered = app.state.settings.data_dir / "outbox" / f"{newest.id:08d}.eml"
    raw = newest.message or delivered.read_text(encoding="ascii")
    message = email.message_from_string(raw, policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    return re.findall(r"token=([A-Za-z0-9_-]+)", text)[0]
