"""E-mail verification: at sign-up (both routes), on an address change, on request."""

import httpx
from sqlalchemy import select, text, update

from authgate.accounts.models import User
from tests.helpers import PASSWORD, csrf_headers, execute, fetch, signup
from tests.mail.flows import ALICE, signed_up_with_mail, verify_flow

NEW_ADDRESS = "alice@new.example.com"
REFUSED = "refused@example.com"
USER = User.__table__


def _refused(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 400 and response.json()["code"] == "token_invalid"


async def test_verify_flow(client, smtp):
    await verify_flow(client, smtp)


async def test_create_account_sends_korean_mail(client, smtp):
    body = {"username": "bob", "password": "correct-horse-battery", "email": "bob@example.com"}
    response = await client.post(
        "/account/create-account", json=body, headers={"Accept-Language": "ko"}
    )
    assert response.status_code == 201, response.text
    (mail,) = await smtp.wait_for(1)
    assert mail.recipients == ["bob@example.com"]
    assert mail.subject == "authgate 이메일 주소 인증"
    assert "24시간" in mail.text and "bob" in mail.text
    assert mail.message.get_content_type() == "multipart/alternative"


async def test_signup_without_address_sends_nothing(client, smtp):
    await signup(client, "carol")
    response = await client.post("/account/verify-email/request", headers=csrf_headers(client))
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    assert smtp.mails == []


async def test_request_needs_a_session(client):
    assert (await client.post("/account/verify-email/request")).status_code == 401


async def test_address_change_sends_to_new_address(client, smtp):
    first = await signed_up_with_mail(client, smtp)
    response = await client.patch(
        "/account/me", json={"email": NEW_ADDRESS}, headers=csrf_headers(client)
    )
    assert response.status_code == 200 and response.json()["email_verified"] is False
    second = (await smtp.wait_for(2))[-1]
    assert second.recipients == [NEW_ADDRESS]
    # Made for the old address: it proves nothing about the new one.
    assert _refused(await client.post("/account/verify-email", json={"token": first.token}))
    verified = await client.post("/account/verify-email", json={"token": second.token})
    assert verified.status_code == 200 and verified.json()["email"] == NEW_ADDRESS
    assert verified.json()["email_verified"] is True


async def test_names_change_sends_nothing(client, smtp):
    await signed_up_with_mail(client, smtp)
    response = await client.patch(
        "/account/me", json={"first_name": "Alice", "email": ALICE}, headers=csrf_headers(client)
    )
    assert response.status_code == 200
    await client.post("/account/verify-email/request", headers=csrf_headers(client))
    await smtp.wait_for(2)
    assert len(smtp.mails) == 2  # the sign-up's and the requested one, none for the names


async def test_resend_supersedes_and_expiry(client, smtp, clock):
    first = await signed_up_with_mail(client, smtp)
    response = await client.post("/account/verify-email/request", headers=csrf_headers(client))
    assert response.status_code == 202 and response.json()["message"]
    second = (await smtp.wait_for(2))[-1]
    assert _refused(await client.post("/account/verify-email", json={"token": first.token}))
    clock.advance(86401)
    assert _refused(await client.post("/account/verify-email", json={"token": second.token}))


async def _refuse_mail_to(app, address: str) -> None:  # type: ignore[no-untyped-def]
    refuse = text(
        "CREATE TRIGGER refuse_mail BEFORE INSERT ON mail_outbox "
        f"WHEN NEW.recipient = '{address}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    await execute(app, refuse)


async def test_an_account_whose_mail_cannot_be_queued_is_not_created(app, smtp):
    """The account, its first session and its verification mail: one unit of work."""
    await _refuse_mail_to(app, REFUSED)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for path in ("/signup", "/account/create-account"):
            body = {"username": "atomic", "password": PASSWORD, "email": REFUSED}
            failed = await client.post(path, json=body)
            assert failed.status_code == 500 and "set-cookie" not in failed.headers
            assert await fetch(app, select(USER.c.id)) == []
        body = {"username": "atomic", "password": PASSWORD, "email": "atomic@example.com"}
        assert (await client.post("/signup", json=body)).status_code == 201
    (mail,) = await smtp.wait_for(1)
    assert mail.recipients == ["atomic@example.com"]


async def test_an_address_whose_mail_cannot_be_queued_is_not_changed(app, client, smtp):
    await signed_up_with_mail(client, smtp)
    await _refuse_mail_to(app, REFUSED)
    quiet = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=quiet, base_url="http://testserver") as other:
        other.cookies = client.cookies
        response = await other.patch(
            "/account/me", json={"email": REFUSED}, headers=csrf_headers(client)
        )
    assert response.status_code == 500
    assert (await client.get("/account/me")).json()["email"] == ALICE
    assert await fetch(app, select(USER.c.email)) == [(ALICE,)]


async def test_an_address_is_new_against_the_stored_one_not_the_sessions_copy(app, client, smtp):
    """A session's cached copy of the user may lag a change made elsewhere: whether an address
    is new, and needs its link, is decided against the stored row."""
    await signed_up_with_mail(client, smtp)
    assert (await client.get("/account/me")).json()["email"] == ALICE  # the session's copy
    moved = "moved@example.com"  # changed elsewhere, with no notice to this process
    await execute(app, update(USER).values(email=moved, email_key=moved, email_verified=True))
    changed = await client.patch("/account/me", json={"email": ALICE}, headers=csrf_headers(client))
    assert changed.status_code == 200, changed.text
    assert await fetch(app, select(USER.c.email, USER.c.email_verified)) == [(ALICE, False)]
    (_, mail) = await smtp.wait_for(2)
    assert mail.recipients == [ALICE] and mail.link
