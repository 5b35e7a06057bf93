"""Password reset through the API, with the mail received by a real SMTP server."""

from tests.helpers import PASSWORD, csrf_headers
from tests.mail.conftest import client_of, running
from tests.mail.flows import (
    ALICE,
    NEW_PASSWORD,
    request_reset,
    reset_flow,
    signed_up_with_mail,
)

CONFIRM = "/account/password-reset/confirm"


async def _confirm(client, token, password=NEW_PASSWORD):  # type: ignore[no-untyped-def]
    return await client.post(CONFIRM, json={"token": token, "new_password": password})


def _refused(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 400 and response.json()["code"] == "token_invalid"


async def test_reset_flow(client, smtp):
    await reset_flow(client, smtp)


async def test_english_mail_says_what_matters(client, smtp):
    await signed_up_with_mail(client, smtp)
    await request_reset(client, ALICE)
    mail = (await smtp.wait_for(2))[-1]
    assert mail.subject == "Reset your authgate password"
    assert "expires in 60 minutes" in mail.text
    assert "If you did not ask for this" in mail.text
    assert "authgate" in mail.text and PASSWORD not in mail.text
    assert mail.message["From"] == "authgate@localhost"
    kinds = [part.get_content_type() for part in mail.message.iter_parts()]
    assert kinds == ["text/plain", "text/html"]


async def test_unknown_address_same_answer_no_mail(client, smtp):
    await signed_up_with_mail(client, smtp)
    unknown = await client.post("/account/password-reset", json={"email": "nobody@example.com"})
    known = await client.post("/account/password-reset", json={"email": ALICE})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    await smtp.wait_for(2)
    assert smtp.to("nobody@example.com") == []
    assert len(smtp.to(ALICE)) == 2


async def test_expired_token_refused(client, smtp, clock):
    await signed_up_with_mail(client, smtp)
    await request_reset(client, ALICE)
    mail = (await smtp.wait_for(2))[-1]
    clock.advance(3601)
    assert _refused(await _confirm(client, mail.token))


async def test_newer_link_supersedes(client, smtp):
    await signed_up_with_mail(client, smtp)
    await request_reset(client, ALICE)
    await request_reset(client, ALICE)
    first, second = (await smtp.wait_for(3))[1:]
    assert _refused(await _confirm(client, first.token))
    assert (await _confirm(client, second.token)).status_code == 200


async def test_password_change_kills_the_link(client, smtp):
    await signed_up_with_mail(client, smtp)
    await request_reset(client, ALICE)
    mail = (await smtp.wait_for(2))[-1]
    change = {"old_password": PASSWORD, "new_password": "another-fine-passphrase"}
    response = await client.post(
        "/account/change-password", json=change, headers=csrf_headers(client)
    )
    assert response.status_code == 200, response.text
    assert _refused(await _confirm(client, mail.token))


async def test_tokens_never_cross_purposes(client, smtp):
    verification = await signed_up_with_mail(client, smtp)
    await request_reset(client, ALICE)
    reset = (await smtp.wait_for(2))[-1]
    assert _refused(await _confirm(client, verification.token))
    assert _refused(await client.post("/account/verify-email", json={"token": reset.token}))
    tokens = await client.post("/account/login", json={"username": "alice", "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    for kind in ("access", "refresh"):
        assert _refused(await _confirm(client, tokens.json()[kind]))
    as_bearer = await client.get("/account/me", headers={"Authorization": f"Bearer {reset.token}"})
    assert as_bearer.status_code == 401
    assert (await _confirm(client, reset.token)).status_code == 200


async def test_policy_applies_and_keeps_the_token(client, smtp):
    await signed_up_with_mail(client, smtp)
    await request_reset(client, ALICE)
    mail = (await smtp.wait_for(2))[-1]
    weak = await _confirm(client, mail.token, "password")
    assert weak.status_code == 422 and weak.json()["code"] == "password_policy"
    assert (await _confirm(client, mail.token)).status_code == 200


async def test_garbage_tokens_refused(client):
    assert _refused(await _confirm(client, "x" * 200))
    assert _refused(await _confirm(client, "x" * 201))
    too_long = await _confirm(client, "x" * 4097)
    assert too_long.status_code == 422


async def test_rate_limited_per_ip(make_settings, smtp):
    settings = make_settings(rate_limit_password_reset="2/hour", **smtp.settings())
    async with running(settings) as app, client_of(app) as client:
        for _ in range(2):
            await request_reset(client, "someone@example.com")
        response = await client.post("/account/password-reset", json={"email": "x@example.com"})
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) > 0
