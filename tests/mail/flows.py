"""Whole flows through the API, shared by the SQLite tests and the PostgreSQL ones."""

from urllib.parse import urlsplit

import httpx

from tests.helpers import PASSWORD, signup
from tests.mail.smtp import Mail, SmtpServer

NEW_PASSWORD = "a-brand-new-passphrase"
ALICE = "alice@example.com"


def path_of(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


async def request_reset(client: httpx.AsyncClient, email: str, language: str = "en") -> None:
    response = await client.post(
        "/account/password-reset", json={"email": email}, headers={"Accept-Language": language}
    )
    assert response.status_code == 202, response.text


async def signed_up_with_mail(client: httpx.AsyncClient, smtp: SmtpServer) -> Mail:
    """alice signs up with an address; returns her verification mail."""
    before = len(smtp.mails)
    await signup(client, "alice", email=ALICE)
    return (await smtp.wait_for(before + 1))[-1]


async def reset_flow(client: httpx.AsyncClient, smtp: SmtpServer) -> None:
    """Sign up, ask for a reset in Korean, follow the mail, set a new password, log in."""
    await signed_up_with_mail(client, smtp)
    await request_reset(client, ALICE.upper(), "ko")
    mail = (await smtp.wait_for(2))[-1]
    assert mail.recipients == [ALICE]
    assert "비밀번호 재설정" in mail.subject
    assert mail.message.get_content_type() == "multipart/alternative"
    assert mail.link.startswith("http://127.0.0.1:8000/ui/reset-password?token=")
    assert mail.link in mail.html
    page = await client.get(path_of(mail.link))
    assert page.status_code == 200 and "new_password" in page.text

    response = await client.post(
        "/account/password-reset/confirm", json={"token": mail.token, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 200, response.text
    # Every session ended, the cookie session that asked included.
    assert (await client.get("/account/me")).status_code == 401
    old = await client.post("/login", json={"username": "alice", "password": PASSWORD})
    assert old.status_code == 401
    new = await client.post("/login", json={"username": "alice", "password": NEW_PASSWORD})
    assert new.status_code == 200
    again = await client.post(
        "/account/password-reset/confirm", json={"token": mail.token, "new_password": PASSWORD}
    )
    assert again.status_code == 400 and again.json()["code"] == "token_invalid"


async def verify_flow(client: httpx.AsyncClient, smtp: SmtpServer) -> None:
    """Sign up with an address, confirm it with the mailed token; the token then is spent."""
    mail = await signed_up_with_mail(client, smtp)
    assert mail.recipients == [ALICE]
    assert "Confirm your e-mail address" in mail.subject
    assert mail.link.startswith("http://127.0.0.1:8000/ui/verify-email?token=")
    response = await client.post("/account/verify-email", json={"token": mail.token})
    assert response.status_code == 200, response.text
    assert response.json()["email_verified"] is True
    assert (await client.get("/account/me")).json()["email_verified"] is True
    again = await client.post("/account/verify-email", json={"token": mail.token})
    assert again.status_code == 400 and again.json()["code"] == "token_invalid"
