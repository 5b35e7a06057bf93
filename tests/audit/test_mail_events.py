"""The e-mail flows' security events, and the outbox's depth in /metrics."""

import re

from sqlalchemy import select

from tests.bearer import create_account
from tests.helpers import PASSWORD, fetch, mailed_token

NEW_PASSWORD = "another-horse-battery"


async def event_types(client, access: str) -> list[str]:  # type: ignore[no-untyped-def]
    response = await client.get("/account/events", headers={"Authorization": f"Bearer {access}"})
    return [event["type"] for event in response.json()["events"]]


async def test_reset_and_verification_are_recorded(app, client):
    await create_account(client, email="ann@example.com")
    token = await mailed_token(app, "email_verification")
    assert (await client.post("/account/verify-email", json={"token": token})).status_code == 200
    answer = await client.post("/account/password-reset", json={"email": "ann@example.com"})
    assert answer.status_code == 202
    token = await mailed_token(app, "password_reset")
    body = {"token": token, "new_password": NEW_PASSWORD}
    assert (await client.post("/account/password-reset/confirm", json=body)).status_code == 200
    login = {"username": "alice", "password": NEW_PASSWORD}
    access = (await client.post("/account/login", json=login)).json()["access"]
    seen = await event_types(client, access)
    for kind in ("email_verification_sent", "email_verified", "password_reset_requested",
                 "password_reset"):  # fmt: skip
        assert kind in seen, seen
    assert PASSWORD not in str(seen)


async def test_an_unknown_address_records_nothing(app, client):
    answer = await client.post("/account/password-reset", json={"email": "nobody@example.com"})
    assert answer.status_code == 202
    from authgate.audit.models import AuditEvent

    rows = await fetch(app, select(AuditEvent.__table__.c.type))
    assert [row.type for row in rows] == []


async def test_the_outbox_depth_is_a_metric(app, client):
    await create_account(client, email="bob@example.com")  # a verification mail is queued
    text = (await client.get("/metrics")).text
    depth = re.search(r"^authgate_mail_outbox_pending (\S+)$", text, re.MULTILINE)
    assert depth is not None and float(depth.group(1)) >= 0
