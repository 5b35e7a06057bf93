"""A password reset does not bypass the second factor: the next log-in still asks for it."""

from tests.bearer import create_account, token_login
from tests.helpers import mailed_token
from tests.mfa.helpers import code_at, enrol

NEW_PASSWORD = "another-horse-battery"


async def test_after_a_reset_the_next_log_in_still_asks_for_the_code(app, client, clock):
    await create_account(client, email="alice@example.com")
    pair = await token_login(client)
    secret, _ = await enrol(client, {"Authorization": f"Bearer {pair['access']}"}, clock)
    sent = await client.post("/account/password-reset", json={"email": "alice@example.com"})
    assert sent.status_code == 202
    body = {"token": await mailed_token(app, "password_reset"), "new_password": NEW_PASSWORD}
    assert (await client.post("/account/password-reset/confirm", json=body)).status_code == 200
    credentials = {"username": "alice", "password": NEW_PASSWORD}
    step = await client.post("/account/login", json=credentials)
    assert (step.status_code, step.json()["code"]) == (401, "mfa_required")
    finish = {"mfa_token": step.json()["mfa_token"], "code": code_at(secret, clock)}
    done = await client.post("/account/login/mfa", json=finish)
    assert done.status_code == 200, done.text
    assert done.json()["access"]
