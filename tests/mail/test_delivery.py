"""Delivery: outages, restarts and several senders on one outbox; the .eml fallback."""

import asyncio
import logging

from sqlalchemy import select

from authgate.mail.models import OutboxMail
from tests.helpers import signup
from tests.mail.conftest import FAST_MAIL, client_of, running
from tests.mail.flows import ALICE, request_reset
from tests.mail.smtp import SmtpServer, free_port

OUTBOX = OutboxMail.__table__


async def _outbox(app):  # type: ignore[no-untyped-def]
    return await app.state.db.read(lambda c: c.execute(select(OUTBOX)).all())


async def _until(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.01)):
        if await predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_server_down_then_up(make_settings):
    smtp = SmtpServer(free_port())  # not started: nothing listens on its port
    settings = make_settings(rate_limit_enabled=False, **FAST_MAIL, **smtp.settings())
    async with running(settings) as app, client_of(app) as client:
        await signup(client, "alice", email=ALICE)

        async def retried() -> bool:
            return any(row.attempts >= 2 and row.last_error for row in await _outbox(app))

        await _until(retried)
        smtp.start()
        try:
            (mail,) = await smtp.wait_for(1)
            assert mail.recipients == [ALICE]
            await _until(lambda: _all_sent(app))
        finally:
            smtp.stop()


async def _all_sent(app) -> bool:  # type: ignore[no-untyped-def]
    rows = await _outbox(app)
    return bool(rows) and all(row.sent_at and row.message == "" for row in rows)


async def test_restart_between_request_and_delivery(make_settings):
    smtp = SmtpServer(free_port())
    settings = make_settings(rate_limit_enabled=False, **FAST_MAIL, **smtp.settings())
    async with running(settings) as app, client_of(app) as client:
        await signup(client, "alice", email=ALICE)
        await request_reset(client, ALICE)
    # The process is gone; its mails are on disk. A new one on the same data folder sends them.
    smtp.start()
    try:
        async with running(settings) as app:
            mails = await smtp.wait_for(2)
            assert {mail.subject for mail in mails} == {
                "Confirm your e-mail address for authgate",
                "Reset your authgate password",
            }
            await _until(lambda: _all_sent(app))
    finally:
        smtp.stop()


async def test_two_instances_send_each_mail_once(make_settings, smtp):
    settings = make_settings(rate_limit_enabled=False, **FAST_MAIL, **smtp.settings())
    count = 30
    async with (
        running(settings) as one,
        running(settings) as two,
        client_of(one) as a,
        client_of(two) as b,
    ):
        await signup(a, "alice", email=ALICE)
        await smtp.wait_for(1)
        await asyncio.gather(*(request_reset(client, ALICE) for client in [a, b] * (count // 2)))
        await smtp.wait_for(1 + count)
        await _until(lambda: _all_sent(one))
        assert one.state.mail.sender.delivered + two.state.mail.sender.delivered == 1 + count
    await asyncio.sleep(0.2)  # a duplicate would have arrived by now
    ids = [mail.message["Message-ID"] for mail in smtp.mails]
    assert len(ids) == len(set(ids)) == 1 + count


async def test_eml_files_without_smtp(make_settings, caplog):
    settings = make_settings(rate_limit_enabled=False, **FAST_MAIL)
    folder = settings.data_dir / "outbox"
    caplog.set_level(logging.INFO, logger="authgate.mail")
    async with running(settings) as app, client_of(app) as client:
        await signup(client, "alice", email=ALICE)
        await _until(lambda: _all_sent(app))
    (path,) = folder.glob("*.eml")
    text = path.read_text()
    assert "To: alice@example.com" in text and "multipart/alternative" in text
    assert "http://127.0.0.1:8000/ui/verify-email?token=" in caplog.text
