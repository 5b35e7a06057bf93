"""Second factors, passkeys and re-authentication in the audit trail (issue 13): each change
and each outcome, read back through GET /account/events and GET /admin/audit, and written
as a JSON log line, with no code, secret or key in any of them."""

import json
import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from authgate.admin.bootstrap import create_admin_user
from authgate.passkeys.models import Passkey
from tests.audit.helpers import stored
from tests.bearer import bearer, create_account, token_login
from tests.helpers import PASSWORD, fetch
from tests.mfa.helpers import code_at, enrol
from tests.observability.test_logs import lines
from tests.passkeys.authenticator import SoftAuthenticator, b64url
from tests.passkeys.helpers import ORIGIN, RP_ID, passkey_login, passkey_settings, register

WRONG = "000000"


@pytest.fixture
def settings(make_settings):
    return passkey_settings(make_settings)


async def events(app: FastAPI, client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict]:
    """The caller's own events, oldest first (GET /account/events pages newest first), the
    queued ones written first."""
    await app.state.audit.flush()
    response = await client.get("/account/events", params={"limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["events"]))


def of_type(found: list[dict], *wanted: str) -> list[dict]:
    return [event for event in found if event["type"] in wanted]


async def mfa_step(client: httpx.AsyncClient, **proof: str) -> httpx.Response:
    token = (
        await client.post("/account/login", json={"username": "alice", "password": PASSWORD})
    ).json()["mfa_token"]
    return await client.post("/account/login/mfa", json={"mfa_token": token, **proof})


async def test_totp_on_off_and_each_login_step(app, client, clock):
    user = await create_account(client)
    headers = bearer((await token_login(client))["access"])
    secret, recovery = await enrol(client, headers, clock)
    assert (await mfa_step(client, code=WRONG)).status_code == 401
    good = code_at(secret, clock)
    finished = await mfa_step(client, code=good)
    assert finished.status_code == 200
    assert (await mfa_step(client, code=good)).status_code == 401  # the same code again
    assert (await mfa_step(client, recovery_code=recovery[0])).status_code == 200
    headers = bearer(finished.json()["access"])
    assert (await client.post("/account/mfa/recovery-codes", headers=headers)).status_code == 200
    assert (await client.delete("/account/mfa/totp", headers=headers)).status_code == 204

    found = await events(app, client, headers)
    assert {event["user_id"] for event in found} == {user["id"]}
    (enabled,) = of_type(found, "totp_enabled")
    assert enabled["detail"] == {"recovery_codes": 10}
    assert enabled["session_id"] is not None
    steps = of_type(found, "mfa_succeeded", "mfa_failed")
    assert [(e["type"], e["detail"]["method"], e["detail"].get("reason")) for e in steps] == [
        ("mfa_failed", "totp", "wrong_code"),
        ("mfa_succeeded", "totp", None),
        ("mfa_failed", "totp", "replayed"),
        ("mfa_succeeded", "recovery_code", None),
    ]
    assert steps[1]["detail"] == {"method": "totp", "kind": "token"}
    (used,) = of_type(found, "recovery_code_used")
    assert used["detail"] == {"purpose": "login", "remaining": 9}
    logins = [e["detail"] for e in of_type(found, "login_succeeded")]
    assert logins[-2:] == [
        {"kind": "token", "method": "totp"},
        {"kind": "token", "method": "recovery_code"},
    ]
    (regenerated,) = of_type(found, "recovery_codes_regenerated")
    assert regenerated["detail"] == {"recovery_codes": 10}
    (disabled,) = of_type(found, "totp_disabled")
    assert disabled["session_id"] == finished_session(found)


def finished_session(found: list[dict]) -> str:
    """The session the TOTP log-in opened (the one that then regenerated and disabled)."""
    logins = of_type(found, "login_succeeded")
    return next(e for e in logins if e["detail"].get("method") == "totp")["session_id"]


async def test_a_challenge_that_is_not_live_is_queued_with_its_reason(app, client, clock):
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    await enrol(client, headers, clock)
    body = {"username": "alice", "password": PASSWORD}
    token = (await client.post("/account/login", json=body)).json()["mfa_token"]
    clock.advance(301)
    late = await client.post("/account/login/mfa", json={"mfa_token": token, "code": WRONG})
    assert late.status_code == 401
    unknown = {"mfa_token": "not-a-token", "recovery_code": "AAAA"}
    assert (await client.post("/account/login/mfa", json=unknown)).status_code == 401
    expired, nobody = await stored(app, type="mfa_failed")
    assert expired.detail == {"method": "totp", "reason": "expired_token"}
    assert expired.user_id is not None
    assert (nobody.user_id, nobody.detail) == (
        None, {"method": "recovery_code", "reason": "unknown_token"},
    )  # fmt: skip


async def test_passkey_added_used_refused_and_deleted(app, client, clock):
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    authenticator = SoftAuthenticator(ORIGIN)
    passkey = (await register(client, headers, authenticator, name="Phone")).json()
    assert (await passkey_login(client, authenticator)).status_code == 200
    authenticator.counter -= 1  # a clone signs with a counter already seen
    assert (await passkey_login(client, authenticator)).status_code == 401
    options = (await client.post("/account/passkeys/login/options")).json()
    answer = authenticator.get(options, RP_ID)
    assert (await client.post("/account/passkeys/login", json={"credential": answer})).is_success
    again = await client.post("/account/passkeys/login", json={"credential": answer})
    assert again.status_code == 401
    assert (await client.delete(f"/account/passkeys/{passkey['id']}", headers=headers)).is_success

    found = await events(app, client, headers)
    (added,) = of_type(found, "passkey_added")
    assert added["detail"] == {"passkey_id": passkey["id"], "name": "Phone"}
    logins = [e["detail"] for e in of_type(found, "login_succeeded")]
    assert logins[-2:] == [{"kind": "token", "method": "passkey"}] * 2
    failed = of_type(found, "passkey_login_failed")
    assert [e["detail"] for e in failed] == [
        {"reason": "counter_not_increased"}, {"reason": "challenge_invalid"},
    ]  # fmt: skip
    (deleted,) = of_type(found, "passkey_deleted")
    assert deleted["detail"] == {"passkey_id": passkey["id"], "name": "Phone"}


async def test_reauthentication_outcomes(app, client, clock):
    await create_account(client)
    pair = await token_login(client)
    headers = bearer(pair["access"])
    secret, recovery = await enrol(client, headers, clock)
    reauth = "/account/reauthenticate"
    wrong = await client.post(reauth, json={"password": "wrong-password"}, headers=headers)
    assert wrong.status_code == 400
    done = await client.post(reauth, json={"password": PASSWORD}, headers=headers)
    headers = bearer(done.json()["access"])
    assert (await client.post(reauth, json={"code": WRONG}, headers=headers)).status_code == 400
    done = await client.post(reauth, json={"recovery_code": recovery[1]}, headers=headers)
    headers = bearer(done.json()["access"])
    done = await client.post(reauth, json={"code": code_at(secret, clock)}, headers=headers)
    assert done.status_code == 200

    found = await events(app, client, bearer(done.json()["access"]))
    # Refusals are queued (written a moment later), successes written with the change.
    refused = of_type(found, "reauthentication_failed")
    assert [e["detail"] for e in refused] == [
        {"method": "password", "reason": "wrong_password"},
        {"method": "totp", "reason": "wrong_code"},
    ]
    outcomes = of_type(found, "reauthenticated")
    assert [(e["detail"]["method"], e["detail"]["amr"]) for e in outcomes] == [
        ("password", ["pwd"]),
        ("recovery_code", ["pwd", "mfa"]),
        ("totp", ["pwd", "otp", "mfa"]),
    ]
    (used,) = of_type(found, "recovery_code_used")
    assert used["detail"] == {"purpose": "reauthenticate", "remaining": 9}
    # Each replacement: the old session ended for that reason, the new one opened.
    ended = of_type(found, "session_ended")
    assert [e["detail"]["reason"] for e in ended] == ["reauthenticated"] * 3
    opened = {e["session_id"] for e in of_type(found, "login_succeeded")}
    assert {e["session_id"] for e in outcomes if e["type"] == "reauthenticated"} <= opened
    assert outcomes[-1]["session_id"] not in {e["session_id"] for e in ended}


async def test_admins_see_them_and_each_is_a_json_log_line(app: FastAPI, client, clock, caplog):
    caplog.set_level(logging.INFO)
    await create_admin_user(app.state.db, app.state.hasher, 8, "root", PASSWORD, None)
    admin = bearer((await token_login(client, "root"))["access"])
    user = await create_account(client)
    await enrol(client, bearer((await token_login(client))["access"]), clock)
    assert (await mfa_step(client, code=WRONG)).status_code == 401
    response = await client.get("/admin/audit", params={"type": "totp_enabled"}, headers=admin)
    (enabled,) = response.json()["events"]
    assert enabled["user_id"] == user["id"]
    response = await client.get("/admin/audit", params={"type": "mfa_failed"}, headers=admin)
    assert [e["detail"]["reason"] for e in response.json()["events"]] == ["wrong_code"]
    logged = {line["event"]["type"]: line["event"] for line in lines(caplog, "authgate.audit")}
    assert logged["totp_enabled"]["user_id"] == user["id"]
    assert logged["mfa_failed"]["detail"]["reason"] == "wrong_code"


async def test_no_code_secret_or_key_in_events_or_logs(app, client, clock, caplog):
    caplog.set_level(logging.DEBUG)
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    secret, recovery = await enrol(client, headers, clock)
    codes = [code_at(secret, clock), code_at(secret, clock, 1)]
    assert (await mfa_step(client, code=codes[0])).status_code == 200
    assert (await mfa_step(client, recovery_code=recovery[0])).status_code == 200
    reauth = {"recovery_code": recovery[1]}
    done = await client.post("/account/reauthenticate", json=reauth, headers=headers)
    headers = bearer(done.json()["access"])
    await register(client, headers, SoftAuthenticator(ORIGIN))
    (key,) = await fetch(app, select(Passkey.public_key, Passkey.credential_id))
    secrets = [secret, *recovery, *(c.replace("-", "") for c in recovery)]
    secrets += [b64url(key.public_key), key.public_key.hex(), b64url(key.credential_id)]
    stored_events = await stored(app)
    assert {"totp_enabled", "mfa_succeeded", "recovery_code_used", "passkey_added"} <= {
        event.type for event in stored_events
    }
    stored_text = json.dumps([dict(e._mapping) for e in stored_events], default=str)
    log_text = caplog.text + json.dumps(lines(caplog, "authgate.audit"))
    for text in secrets:
        assert text not in stored_text and text not in log_text
    details = json.dumps([event.detail for event in stored_events])
    for code in codes:  # six digits: whole values, not parts of ids
        assert json.dumps(code) not in details
