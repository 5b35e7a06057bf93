"""The e-mail flows and the outbox's claims on PostgreSQL (`FOR UPDATE SKIP LOCKED`)."""

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI

from authgate import Settings
from tests.helpers import signup
from tests.mail.conftest import FAST_MAIL, client_of, running
from tests.mail.flows import ALICE, request_reset, reset_flow, verify_flow
from tests.mail.smtp import SmtpServer, free_port


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def _with_mail(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(update={**FAST_MAIL, **smtp.settings()})


@pytest.fixture
async def app(pg_settings: Settings, clock, smtp: SmtpServer) -> AsyncIterator[FastAPI]:  # type: ignore[no-untyped-def]
    async with running(_with_mail(pg_settings, smtp), clock) as application:
        yield application


async def test_reset_flow(client, smtp):
    await reset_flow(client, smtp)


async def test_verify_flow(client, smtp):
    await verify_flow(client, smtp)


async def test_two_instances_send_each_mail_once(pg_settings, smtp):
    settings, count = _with_mail(pg_settings, smtp), 30
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
        await asyncio.sleep(0.2)  # a duplicate would have arrived by now
        assert one.state.mail.sender.delivered + two.state.mail.sender.delivered == 1 + count
    ids = [mail.message["Message-ID"] for mail in smtp.mails]
    assert len(ids) == len(set(ids)) == 1 + count


async def test_restart_then_outage_over(pg_settings):
    smtp = SmtpServer(free_port())  # down while the first instance runs
    settings = _with_mail(pg_settings, smtp)
    async with running(settings) as app, client_of(app) as client:
        await signup(client, "alice", email=ALICE)
        await request_reset(client, ALICE)
    smtp.start()
    try:
        async with running(settings):
            assert len(await smtp.wait_for(2)) == 2
    finally:
        smtp.stop()
