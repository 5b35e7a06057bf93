"""The e-mailed links in Debian's Chromium: a served authgate (two workers, so two senders),
a real SMTP server, the landing pages with their strict Content-Security-Policy."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_SECRET
from tests.e2e.cors_rig import require_chromium
from tests.e2e.served import Server, free_port, start_server, stop_server
from tests.helpers import PASSWORD
from tests.mail.smtp import WAIT, Mail, SmtpServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NEW_PASSWORD = "a-brand-new-passphrase"
ALICE = "alice@example.com"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer) -> Iterator[Server]:
    require_chromium()
    port, started = free_port(), []
    env = {
        "AUTHGATE_SECRET_KEY": TEST_SECRET,
        "AUTHGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "AUTHGATE_SMTP_HOST": "127.0.0.1",
        "AUTHGATE_SMTP_PORT": str(smtp.port),
        "AUTHGATE_SMTP_SECURITY": "none",
        "AUTHGATE_MAIL_POLL_INTERVAL": "0.2",
    }
    data_dir = Path(tmp_path_factory.mktemp("mail-pages"))
    try:
        yield start_server(("--workers", "2"), data_dir=data_dir, env=env, timeout=None,
                           started=started, port=port)  # fmt: skip
    finally:
        for each in started:
            stop_server(each)


def _wait(smtp: SmtpServer, count: int) -> list[Mail]:
    deadline = time.monotonic() + WAIT
    while len(smtp.mails) < count:
        assert time.monotonic() < deadline, f"{len(smtp.mails)} of {count} mails"
        time.sleep(0.02)
    return smtp.mails[:count]


def _page(chromium: Any, locale: str) -> tuple[Any, list[str]]:
    """A page in a fresh context, and the Content-Security-Policy violations it reports."""
    page = chromium.new_context(locale=locale).new_page()
    complaints: list[str] = []
    page.on("console", lambda m: complaints.append(m.text) if "Security Policy" in m.text else None)
    return page, complaints


def test_reset_link_in_the_browser(server: Server, smtp: SmtpServer, chromium: Any) -> None:
    api = httpx.Client(base_url=server.url, timeout=10)
    body = {"username": "alice", "password": PASSWORD, "email": ALICE}
    assert api.post("/account/create-account", json=body).status_code == 201
    before = len(_wait(smtp, 1))
    reset = api.post("/account/password-reset", json={"email": ALICE})
    assert reset.status_code == 202
    mail = _wait(smtp, before + 1)[-1]
    assert mail.link.startswith(f"{server.url}/ui/reset-password?token=")

    page, complaints = _page(chromium, "en-US")
    page.goto(mail.link)
    page.fill("#new_password", NEW_PASSWORD)
    page.fill("#repeat_password", NEW_PASSWORD)
    page.click("button[type=submit]")
    assert "Your password has been changed" in page.inner_text("#outcome")
    login = api.post("/account/login", json={"username": "alice", "password": NEW_PASSWORD})
    assert login.status_code == 200
    page.goto(mail.link)  # the same link again
    assert "no longer works" in page.inner_text("#outcome")
    assert complaints == []
    page.context.close()


def test_verify_link_in_korean(server: Server, smtp: SmtpServer, chromium: Any) -> None:
    api = httpx.Client(base_url=server.url, timeout=10)
    before = len(smtp.mails)
    body = {"username": "bora", "password": PASSWORD, "email": "bora@example.com"}
    created = api.post("/account/create-account", json=body, headers={"Accept-Language": "ko"})
    assert created.status_code == 201
    mail = _wait(smtp, before + 1)[-1]
    assert "이메일 주소 인증" in mail.subject

    page, complaints = _page(chromium, "ko-KR")
    page.goto(mail.link)
    assert page.get_attribute("html", "lang") == "ko"
    page.click("button[type=submit]")
    assert "인증되었습니다" in page.inner_text("#outcome")
    tokens = api.post("/account/login", json={"username": "bora", "password": PASSWORD}).json()
    me = api.get("/account/me", headers={"Authorization": f"Bearer {tokens['access']}"})
    assert me.json()["email_verified"] is True
    assert complaints == []
    page.context.close()
