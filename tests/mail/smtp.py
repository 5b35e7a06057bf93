"""A real SMTP server for tests (aiosmtpd on a free loopback port) that keeps what it receives."""

import asyncio
import re
import socket
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://\S+")
REFUSED = "nobody-here@"  # recipients the server refuses for good
WAIT = 10.0  # seconds: the most any test waits for a mail


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    received_at: float  # time.time() when the server accepted it

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        return self.message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]

    @property
    def html(self) -> str:
        return self.message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]

    @property
    def link(self) -> str:
        return LINK.findall(self.text)[0]

    @property
    def token(self) -> str:
        return parse_qs(urlsplit(self.link).query)["token"][0]


class SmtpServer:
    """aiosmtpd in its own thread; `stop` and `start` again on the same port (an outage)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.mails: list[Mail] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith(REFUSED):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default)
        with self._lock:
            self.mails.append(
                Mail(envelope.mail_from, list(envelope.rcpt_tos), message, time.time())
            )  # type: ignore[arg-type]
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings(self) -> dict[str, Any]:
        return {"smtp_host": "127.0.0.1", "smtp_port": self.port, "smtp_security": "none"}

    async def wait_for(self, count: int, timeout: float = WAIT) -> list[Mail]:
        """The first `count` mails, once they have all arrived (fails after `timeout`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.mails) < count:
            assert loop.time() < deadline, f"{len(self.mails)} of {count} mails after {timeout}s"
            await asyncio.sleep(0.01)
        return self.mails[:count]

    def to(self, address: str) -> list[Mail]:
        return [mail for mail in self.mails if address in mail.recipients]
