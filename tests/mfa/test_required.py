"""Mandatory MFA (AUTHGATE_MFA_REQUIRED, ASVS 6.3.3): a session proven by a password alone
may only enrol a second factor and step up with it."""

import jwt
import pytest

from authgate import Settings, create_app
from tests.audit.helpers import types
from tests.bearer import bearer, create_account, token_login
from tests.helpers import PASSWORD, csrf_headers, signup
from tests.mfa.helpers import code_at
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.helpers import ORIGIN, RP_ID, passkey_settings, register

ENROL = "mfa_enrollment_required"


@pytest.fixture
def settings(make_settings):
    return passkey_settings(make_settings, mfa_required=True)


def claims(access: str) -> dict:
    return jwt.decode(access, options={"verify_signature": False})


async def assert_confined(client, headers) -> None:
    """Everything but enrolment, step-up, the account itself and log-out answers 403."""
    for method, path, body in (
        ("GET", "/account/sessions", None),
        ("GET", "/account/events", None),
        ("PATCH", "/account/me", {"first_name": "A"}),
        ("PUT", "/items/thing", {"name": "Thing", "size": 1}),
        ("DELETE", "/items/thing", None),
        ("POST", "/account/mfa/recovery-codes", None),
        ("GET", "/admin/users", None),
    ):
        response = await client.request(method, path, json=body, headers=headers)
        assert (response.status_code, response.json()["code"]) == (403, ENROL), path
    assert (await client.get("/account/me", headers=headers)).status_code == 200
    assert (await client.get("/account/passkeys", headers=headers)).status_code == 200


def test_it_is_off_by_default(tmp_path):
    assert Settings(data_dir=tmp_path).mfa_required is False


async def test_a_password_session_enrols_totp_and_its_code_lifts_the_confinement(
    app, client, clock
):
    await create_account(client)
    pair = await token_login(client)
    assert claims(pair["access"])["amr"] == ["pwd"]
    headers = bearer(pair["access"])
    await assert_confined(client, headers)
    secret = (await client.post("/account/mfa/totp", headers=headers)).json()["secret"]
    confirmed = await client.post(
        "/account/mfa/totp/confirm", json={"code": code_at(secret, clock)}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert len(body["recovery_codes"]) == 10
    assert claims(body["access"])["amr"] == ["pwd", "otp", "mfa"]
    # The confined session was replaced: its tokens are worth nothing now.
    assert (await client.get("/account/me", headers=headers)).json()["code"] == "token_revoked"
    fresh = bearer(body["access"])
    assert (await client.get("/account/sessions", headers=fresh)).status_code == 200
    item = await client.put("/items/thing", json={"name": "Thing", "size": 1}, headers=fresh)
    assert item.status_code == 201
    assert "totp_enabled" in await types(app)
    # From now on a log-in asks for the code, and then nothing is confined.
    clock.advance(30)
    step = await client.post("/account/login", json={"username": "alice", "password": PASSWORD})
    assert step.json()["code"] == "mfa_required"
    finish = {"mfa_token": step.json()["mfa_token"], "code": code_at(secret, clock)}
    logged_in = (await client.post("/account/login/mfa", json=finish)).json()
    assert (await client.get("/account/events", headers=bearer(logged_in["access"]))).is_success


async def test_a_browser_enrols_and_gets_new_cookies(client, clock):
    await signup(client)
    await assert_confined(client, csrf_headers(client))
    old_cookie = client.cookies["sessionid"]
    secret = (await client.post("/account/mfa/totp", headers=csrf_headers(client))).json()["secret"]
    confirmed = await client.post(
        "/account/mfa/totp/confirm", json={"code": code_at(secret, clock)},
        headers=csrf_headers(client),
    )  # fmt: skip
    assert set(confirmed.json()) == {"recovery_codes"}
    assert client.cookies["sessionid"] != old_cookie
    change = await client.patch(
        "/account/me", json={"first_name": "A"}, headers=csrf_headers(client)
    )
    assert change.status_code == 200


async def test_a_passkey_enrolled_then_used_to_step_up(client):
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    authenticator = SoftAuthenticator(ORIGIN)
    assert (await register(client, headers, authenticator)).status_code == 201
    await assert_confined(client, headers)  # registering is not yet using it
    options = await client.post("/account/reauthenticate/options", headers=headers)
    assert options.json()["userVerification"] == "required"
    answer = authenticator.get(options.json(), RP_ID)
    done = await client.post("/account/reauthenticate", json={"passkey": answer}, headers=headers)
    assert done.status_code == 200, done.text
    assert claims(done.json()["access"])["amr"] == ["pwd", "hwk", "user", "mfa"]
    fresh = bearer(done.json()["access"])
    assert (await client.get("/account/sessions", headers=fresh)).status_code == 200


async def test_a_password_step_up_does_not_lift_it(client):
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    done = await client.post(
        "/account/reauthenticate", json={"password": PASSWORD}, headers=headers
    )
    assert claims(done.json()["access"])["amr"] == ["pwd"]
    await assert_confined(client, bearer(done.json()["access"]))


async def test_passkeys_must_verify_the_user(client):
    """A passkey is two factors only with user verification (a PIN or a biometric)."""
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    presence_only = SoftAuthenticator(ORIGIN, user_verifying=False)
    response = await register(client, headers, presence_only)
    assert (response.status_code, response.json()["code"]) == (400, "passkey_invalid")
    options = (await client.post("/account/passkeys/login/options")).json()
    assert options["userVerification"] == "required"


async def test_a_confined_session_may_log_out(client):
    await create_account(client)
    pair = await token_login(client)
    headers = bearer(pair["access"])
    response = await client.post(
        "/account/logout", json={"refresh": pair["refresh"]}, headers=headers
    )
    assert response.status_code == 200
    other = bearer((await token_login(client))["access"])
    assert (await client.post("/account/logout-all", headers=other)).status_code == 200


async def test_the_confinement_is_documented_where_it_answers(app, client):
    """/openapi.json lists `mfa_enrollment_required` among the 403 codes of exactly the routes
    that answer it (on this app, where it is on; the default app has no such code)."""
    spec = (await client.get("/openapi.json")).json()

    def codes(path: str, method: str) -> set[str]:
        documented = spec["paths"][path][method]["responses"].get("403")
        if documented is None:
            return set()
        name = documented["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        code = spec["components"]["schemas"][name]["properties"]["code"]
        return set(code.get("enum", [code.get("const")]))

    for method, path in (("get", "/account/sessions"), ("get", "/account/events"),
                         ("patch", "/account/me"), ("put", "/items/{item_id}"),
                         ("delete", "/items/{item_id}"), ("get", "/admin/users"),
                         ("post", "/account/mfa/recovery-codes")):  # fmt: skip
        assert ENROL in codes(path, method), (method, path)
    for method, path in (("get", "/account/me"), ("post", "/account/mfa/totp"),
                         ("post", "/account/reauthenticate"), ("get", "/account/passkeys"),
                         ("post", "/account/logout"), ("get", "/items/{item_id}")):  # fmt: skip
        assert ENROL not in codes(path, method), (method, path)
    assert codes("/items/{item_id}", "put") >= {"csrf_failed", "forbidden"}  # kept


async def test_the_default_app_documents_no_confinement(make_settings):
    app = create_app(make_settings())
    assert "mfa_enrollment_required" not in str(app.openapi())
