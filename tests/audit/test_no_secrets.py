"""No password, token, hash or secret key in any stored event or any log line."""

import json
import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from authgate.accounts.models import User
from authgate.logs import JsonFormatter, TextFormatter
from authgate.sessions.models import LoginSession, RefreshToken
from tests.audit.helpers import stored
from tests.bearer import bearer
from tests.conftest import TEST_SECRET
from tests.helpers import csrf_headers

PASSWORDS = ("first-Secret-pass-91", "second-Secret-pass-72", "wrong-Secret-pass-33")


async def _flows(client: httpx.AsyncClient) -> list[str]:
    """Sign-up, log-ins (cookie and token, failed too), refresh, password change, log-out:
    returns every secret the client saw."""
    first, second, wrong = PASSWORDS
    seen = []
    signed_up = await client.post("/signup", json={"username": "dana", "password": first})
    assert signed_up.status_code == 201
    seen += [client.cookies["sessionid"], client.cookies["csrftoken"]]
    assert (
        await client.post("/login", json={"username": "dana", "password": wrong})
    ).status_code == 401
    pair = (
        await client.post("/account/login", json={"username": "dana", "password": first})
    ).json()
    seen += [pair["access"], pair["refresh"]]
    refreshed = (await client.post("/account/refresh", json={"refresh": pair["refresh"]})).json()
    seen += [refreshed["access"], refreshed["refresh"]]
    reused = await client.post("/account/refresh", json={"refresh": pair["refresh"]})
    assert reused.status_code == 401
    pair = (
        await client.post("/account/login", json={"username": "dana", "password": first})
    ).json()
    seen += [pair["access"], pair["refresh"]]
    changed = await client.post(
        "/account/change-password", json={"old_password": first, "new_password": second},
        headers=bearer(pair["access"]),
    )  # fmt: skip
    assert changed.status_code == 200
    pair = changed.json()  # the password change replaced the session: new tokens
    seen += [pair["access"], pair["refresh"]]
    out = await client.post(
        "/account/logout", json={"refresh": pair["refresh"]}, headers=bearer(pair["access"])
    )
    assert out.status_code == 200
    login = await client.post("/login", json={"username": "dana", "password": second})
    assert login.status_code == 200
    seen += [client.cookies["sessionid"], client.cookies["csrftoken"]]
    assert (await client.post("/logout", headers=csrf_headers(client))).status_code == 200
    return seen


async def test_no_secret_in_events_or_logs(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [*PASSWORDS, TEST_SECRET, app.state.secret_key, *await _flows(client)]
    hashes = await app.state.db.read(
        lambda c: [
            *c.execute(select(User.password_hash)).scalars(),
            *c.execute(select(RefreshToken.token_hash)).scalars(),
            *(h for h in c.execute(select(LoginSession.secret_hash)).scalars() if h),
        ]
    )
    secrets += hashes
    events = await stored(app)
    assert {e.type for e in events} >= {
        "signup", "login_succeeded", "login_failed", "refresh_reused", "session_ended",
        "password_changed", "logout",
    }  # fmt: skip
    stored_text = json.dumps([dict(e._mapping) for e in events], default=str)
    records = caplog.records
    assert any(r.name == "authgate.audit" for r in records)
    assert any(r.name == "authgate.request" for r in records)
    log_text = "\n".join(
        [caplog.text]
        + [JsonFormatter().format(r) for r in records]
        + [TextFormatter().format(r) for r in records]
    )
    for secret in secrets:
        assert len(secret) >= 8
        assert secret not in stored_text
        assert secret not in log_text
        for part in secret.split("."):  # a JWT's header, claims and signature each
            if len(part) >= 16:
                assert part not in stored_text
                assert part not in log_text
