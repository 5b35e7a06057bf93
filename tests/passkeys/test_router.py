"""Passkeys through HTTP, with a software authenticator: register, list, log in, delete."""

import jwt
import pytest
from sqlalchemy import text

from tests.audit.helpers import stored
from tests.bearer import bearer, create_account, set_user_flags, token_login
from tests.helpers import REFUSED, csrf_headers, execute, quiet_client, refuse_sessions
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.helpers import ORIGIN, RP_ID, passkey_login, passkey_settings, register


@pytest.fixture
def settings(make_settings):
    return passkey_settings(make_settings)


@pytest.fixture
async def alice(client):
    await create_account(client)
    return bearer((await token_login(client))["access"])


async def test_register_list_and_log_in_with_tokens(client, alice):
    authenticator = SoftAuthenticator(ORIGIN)
    options = (await client.post("/account/passkeys/register/options", headers=alice)).json()
    assert options["rp"] == {"id": RP_ID, "name": "authgate"}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    registered = await register(client, alice, authenticator)
    assert registered.status_code == 201, registered.text
    assert registered.json()["name"] == "Laptop"
    listed = (await client.get("/account/passkeys", headers=alice)).json()
    assert [p["id"] for p in listed] == [registered.json()["id"]]
    response = await passkey_login(client, authenticator)
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access"], options={"verify_signature": False})
    assert claims["amr"] == ["hwk", "user", "mfa"]
    listed = (await client.get("/account/passkeys", headers=alice)).json()
    assert listed[0]["last_used_at"] is not None


async def test_log_in_with_a_cookie_session(client, alice, new_client):
    authenticator = SoftAuthenticator(ORIGIN)
    await register(client, alice, authenticator)
    browser = new_client()
    response = await passkey_login(browser, authenticator, session="cookie")
    assert response.json()["user"]["username"] == "alice"
    assert (await browser.get("/account/me")).status_code == 200
    me = await browser.patch("/account/me", json={"first_name": "A"}, headers=csrf_headers(browser))
    assert me.status_code == 200


async def test_a_challenge_answers_once_and_a_replayed_signature_fails(client, alice):
    authenticator = SoftAuthenticator(ORIGIN)
    await register(client, alice, authenticator)
    options = (await client.post("/account/passkeys/login/options")).json()
    credential = authenticator.get(options, RP_ID)
    first = await client.post("/account/passkeys/login", json={"credential": credential})
    assert first.status_code == 200
    again = await client.post("/account/passkeys/login", json={"credential": credential})
    assert (again.status_code, again.json()["code"]) == (401, "invalid_credentials")


async def test_wrong_origin_unknown_key_and_cloned_counter_fail(client, alice):
    authenticator = SoftAuthenticator(ORIGIN)
    await register(client, alice, authenticator)
    phishing = SoftAuthenticator("https://evil.example.net", keys=authenticator.keys)
    assert (await passkey_login(client, phishing)).status_code == 401
    stranger = SoftAuthenticator(ORIGIN)
    await register(client, alice, stranger)
    stranger.keys = {b"x" * 32: next(iter(stranger.keys.values()))}
    assert (await passkey_login(client, stranger)).status_code == 401
    assert (await passkey_login(client, authenticator)).status_code == 200
    authenticator.counter -= 1  # a clone signs with a counter already seen
    assert (await passkey_login(client, authenticator)).status_code == 401


async def test_registration_is_checked(client, alice):
    authenticator = SoftAuthenticator("https://evil.example.net")
    response = await register(client, alice, authenticator)
    assert (response.status_code, response.json()["code"]) == (400, "passkey_invalid")
    garbage = {"credential": {"response": {"clientDataJSON": "!!"}}}
    response = await client.post("/account/passkeys/register", json=garbage, headers=alice)
    assert (response.status_code, response.json()["code"]) == (400, "passkey_invalid")
    response = await client.post("/account/passkeys/login", json=garbage)
    assert (response.status_code, response.json()["code"]) == (401, "invalid_credentials")


async def test_registering_and_deleting_need_a_recent_authentication(client, alice, clock):
    authenticator = SoftAuthenticator(ORIGIN)
    passkey = (await register(client, alice, authenticator)).json()
    clock.advance(301)
    response = await client.post("/account/passkeys/register/options", headers=alice)
    assert response.json()["code"] == "reauthentication_required"
    response = await client.delete(f"/account/passkeys/{passkey['id']}", headers=alice)
    assert response.json()["code"] == "reauthentication_required"
    fresh = bearer((await token_login(client))["access"])
    for wrong in ("not-a-uuid", "00000000-0000-0000-0000-000000000000"):
        assert (await client.delete(f"/account/passkeys/{wrong}", headers=fresh)).status_code == 404
    response = await client.delete(f"/account/passkeys/{passkey['id']}", headers=fresh)
    assert response.status_code == 204
    assert (await passkey_login(client, authenticator)).status_code == 401


async def test_someone_elses_passkey_cannot_be_deleted(client, alice):
    passkey = (await register(client, alice, SoftAuthenticator(ORIGIN))).json()
    await create_account(client, "bob")
    bob = bearer((await token_login(client, "bob"))["access"])
    response = await client.delete(f"/account/passkeys/{passkey['id']}", headers=bob)
    assert response.status_code == 404


def test_the_origins_setting_is_checked(tmp_path):
    from authgate import Settings

    settings = Settings(data_dir=tmp_path, webauthn_origins="https://App.example.com:443")
    assert settings.effective_webauthn_origins == ["https://app.example.com"]
    assert Settings(data_dir=tmp_path).effective_webauthn_origins == ["https://localhost"]
    with pytest.raises(ValueError, match="AUTHGATE_WEBAUTHN_ORIGINS"):
        Settings(data_dir=tmp_path, webauthn_origins="https://app.example.com/login")


async def test_a_deactivated_accounts_passkey_does_not_log_in(app, client, alice):
    authenticator = SoftAuthenticator(ORIGIN)
    await register(client, alice, authenticator)
    me = (await client.get("/account/me", headers=alice)).json()
    await set_user_flags(app, me["id"], is_active=False)
    response = await passkey_login(client, authenticator)
    assert (response.status_code, response.json()["code"]) == (401, "invalid_credentials")
    (failed,) = await stored(app, type="passkey_login_failed")
    assert (failed.user_id, failed.detail) == (me["id"], {"reason": "inactive"})


@pytest.mark.parametrize("session", ["token", "cookie"])
async def test_a_log_in_whose_session_cannot_be_stored_leaves_the_passkey_unused(
    app, client, alice, session
):
    """The passkey's use (counter, last used) and the new session: one unit of work."""
    authenticator = SoftAuthenticator(ORIGIN)
    await register(client, alice, authenticator)
    await refuse_sessions(app)
    async with quiet_client(app) as other:
        options = (await other.post("/account/passkeys/login/options")).json()
        body = {"credential": authenticator.get(options, RP_ID), "session": session}
        failed = await other.post("/account/passkeys/login", json=body, headers=REFUSED)
    assert failed.status_code == 500 and "set-cookie" not in failed.headers
    (passkey,) = (await client.get("/account/passkeys", headers=alice)).json()
    assert passkey["last_used_at"] is None
    assert await execute(app, text("SELECT sign_count FROM passkey")) == [(0,)]
    assert (await passkey_login(client, authenticator, session=session)).status_code == 200


async def when_a_challenge_is_spent(app, statement: str) -> None:  # type: ignore[no-untyped-def]
    """Run `statement` in the unit that spends a challenge: a change made meanwhile, between a
    log-in's read of its passkey and that passkey's use."""
    await execute(app, text(
        "CREATE TRIGGER meanwhile AFTER UPDATE OF used_at ON webauthn_challenge "
        f"BEGIN {statement}; END"
    ))  # fmt: skip


async def test_a_counter_that_moved_meanwhile_refuses_the_answer(app, client, alice):
    """Two answers signed with one count (a key and its clone, at once): the one whose count
    no longer goes forward when it is stored is refused, and the counter never goes back."""
    authenticator = SoftAuthenticator(ORIGIN)
    await register(client, alice, authenticator)
    # The other answer's log-in lands between this one's read of the counter and its write.
    await when_a_challenge_is_spent(app, "UPDATE passkey SET sign_count = 1")
    response = await passkey_login(client, authenticator)  # signed with count 1
    assert (response.status_code, response.json()["code"]) == (401, "invalid_credentials")
    (failed,) = await stored(app, type="passkey_login_failed")
    assert failed.detail == {"reason": "counter_not_increased"}
    assert await execute(app, text("SELECT sign_count FROM passkey")) == [(1,)]
    assert (await passkey_login(client, authenticator)).status_code == 200  # count 2
    assert await execute(app, text("SELECT sign_count FROM passkey")) == [(2,)]


async def test_an_account_deactivated_meanwhile_opens_no_session(app, client, alice):
    """Deactivated between the passkey's look-up and its use: refused as inactive."""
    authenticator = SoftAuthenticator(ORIGIN)
    await register(client, alice, authenticator)
    await when_a_challenge_is_spent(app, 'UPDATE "user" SET is_active = 0')
    sessions = len(await stored(app, type="login_succeeded"))
    response = await passkey_login(client, authenticator, session="cookie")
    assert (response.status_code, response.json()["code"]) == (401, "invalid_credentials")
    assert "set-cookie" not in response.headers
    (failed,) = await stored(app, type="passkey_login_failed")
    assert failed.detail == {"reason": "inactive"}
    assert len(await stored(app, type="login_succeeded")) == sessions
