"""E-mail verification: at sign-up (both routes), on an address change, on request."""

from tests.helpers import csrf_headers, signup
from tests.mail.flows import ALICE, signed_up_with_mail, verify_flow

NEW_ADDRESS = "alice@new.example.com"


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
