"""The /ui landing pages over HTTP: forms, outcomes, languages and their security headers."""

from tests.helpers import PASSWORD
from tests.mail.flows import ALICE, NEW_PASSWORD, path_of, request_reset, signed_up_with_mail

CSP = (
    "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)


async def _reset_mail(client, smtp, language="en"):  # type: ignore[no-untyped-def]
    await signed_up_with_mail(client, smtp)
    await request_reset(client, ALICE, language)
    return (await smtp.wait_for(2))[-1]


async def test_reset_page_flow(client, smtp):
    mail = await _reset_mail(client, smtp)
    page = await client.get(path_of(mail.link))
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CSP
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text
    form = {"token": mail.token, "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD}
    done = await client.post("/ui/reset-password", data=form)
    assert done.status_code == 200 and "Your password has been changed" in done.text
    login = await client.post("/login", json={"username": "alice", "password": NEW_PASSWORD})
    assert login.status_code == 200
    reused = await client.get(path_of(mail.link))
    assert reused.status_code == 400 and "no longer works" in reused.text
    again = await client.post("/ui/reset-password", data=form)
    assert again.status_code == 400 and "no longer works" in again.text


async def test_reset_page_in_korean_with_form_errors(client, smtp):
    mail = await _reset_mail(client, smtp, "ko")
    korean = {"Accept-Language": "ko"}
    page = await client.get(path_of(mail.link), headers=korean)
    assert '<html lang="ko">' in page.text and "새 비밀번호" in page.text
    differ = {"token": mail.token, "new_password": NEW_PASSWORD, "repeat_password": "other"}
    response = await client.post("/ui/reset-password", data=differ, headers=korean)
    assert response.status_code == 400 and "두 비밀번호가 서로 다릅니다" in response.text
    weak = {"token": mail.token, "new_password": "alice", "repeat_password": "alice"}
    response = await client.post("/ui/reset-password", data=weak, headers=korean)
    assert response.status_code == 400 and "비밀번호는 8자 이상" in response.text
    login = await client.post("/login", json={"username": "alice", "password": PASSWORD})
    assert login.status_code == 200  # nothing changed


async def test_verify_page_flow(client, smtp):
    mail = await signed_up_with_mail(client, smtp)
    page = await client.get(path_of(mail.link))
    assert page.status_code == 200 and page.headers["content-security-policy"] == CSP
    assert (await client.get("/account/me")).json()["email_verified"] is False  # not on GET
    done = await client.post("/ui/verify-email", data={"token": mail.token})
    assert done.status_code == 200 and ALICE in done.text
    assert (await client.get("/account/me")).json()["email_verified"] is True
    reused = await client.get(path_of(mail.link))
    assert reused.status_code == 400 and "no longer works" in reused.text


async def test_pages_without_token_and_style(client):
    page = await client.get("/ui/reset-password")
    assert page.status_code == 400 and "needs the link" in page.text
    style = await client.get("/ui/static/ui.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")


async def test_pages_stay_out_of_the_api_schema(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path.startswith("/ui")]
    assert "/account/password-reset/confirm" in paths


async def test_password_fields_are_masked_and_password_managers_welcome(client, smtp):
    """ASVS 6.2.6 and 6.2.7: type=password; nothing stops pasting or a password manager."""
    page = await client.get(path_of((await _reset_mail(client, smtp)).link))
    assert page.text.count('<input type="password"') == 2
    assert page.text.count('autocomplete="new-password"') == 2
    for blocker in ("onpaste", "oncopy", 'autocomplete="off"', "<script"):
        assert blocker not in page.text
