"""Where the sender hands mail over: an SMTP server (aiosmtplib), or .eml files when none is set."""

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from email import message_from_string
from email.policy import default
from pathlib import Path
from typing import Protocol

import aiosmtplib

from authgate.settings import Settings

log = logging.getLogger("authgate.mail")
Send = Callable[[int, str, str], Awaitable[None]]  # (outbox id, recipient, message)
LINK = re.compile(r"https?://\S+")


class Transport(Protocol):
    def connect(self) -> AbstractAsyncContextManager[Send]:
        """A connection for a batch of mails; `send` raises when one is not accepted."""


class PermanentFailure(Exception):
    """The server refused the mail for good (the recipient does not exist...): no retry."""


class SmtpTransport:
    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host
        self._settings = settings

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Send]:
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password,
            use_tls=s.smtp_security == "tls",
            # "starttls" insists on it: a server that does not offer it is an error, not clear text.
            start_tls=s.smtp_security == "starttls",
            timeout=s.smtp_timeout,
        )

        async def send(_: int, recipient: str, message: str) -> None:
            try:
                await client.sendmail(s.email_from, [recipient], message.encode())
            except aiosmtplib.SMTPRecipientsRefused as exc:
                raise PermanentFailure(str(exc)) from exc

        async with client:
            yield send


class FileTransport:
    """No SMTP server set: each mail becomes `<data_dir>/outbox/<id>.eml`, its links logged."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[Send]:
        self.folder.mkdir(parents=True, exist_ok=True)

        async def send(mail_id: int, recipient: str, message: str) -> None:
            path = self.folder / f"{mail_id:08d}.eml"
            path.write_text(message, encoding="ascii")
            log.info("mail to %s written to %s; links: %s", recipient, path, _links(message))

        yield send


def _links(message: str) -> str:
    parsed = message_from_string(message, policy=default)
    body = parsed.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""  # type: ignore[attr-defined]
    return " ".join(dict.fromkeys(LINK.findall(text))) or "(none)"


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_host:
        return SmtpTransport(settings)
    return FileTransport(settings.data_dir / "outbox")
