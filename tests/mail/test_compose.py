"""Mail composition, settings checks, and mails a server refuses for good."""

import pytest
from pydantic import ValidationError

from authgate import Settings
from authgate.mail.compose import Letter, duration
from tests.conftest import TEST_SECRET
from tests.helpers import signup
from tests.mail.conftest import FAST_MAIL, client_of, running
from tests.mail.flows import ALICE, request_reset
from tests.mail.smtp import REFUSED
from tests.mail.test_delivery import _outbox, _until


def test_letter_with_a_display_name_sender():
    letter = Letter("password_reset", "ko", "Auth <no-reply@example.com>",
                    "https://app.example/r?t={token}", 1800)  # fmt: skip
    message = letter.write(recipient="a@example.com", username="a", token="T0K")
    assert message["Message-ID"].endswith("@example.com>")
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "https://app.example/r?t=T0K" in text and "30분" in text


def test_durations():
    assert duration(3600, "en") == "60 minutes"
    assert duration(86400, "en") == "24 hours"
    assert duration(7200, "ko") == "2시간"


@pytest.mark.parametrize(
    "bad",
    [
        {"password_reset_url": "https://app.example/reset"},  # no {token}
        {"smtp_timeout": 60, "mail_lease": 30},
        {"smtp_security": "ssl"},
    ],
)
def test_settings_refused(tmp_path, bad):
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, secret_key=TEST_SECRET, **bad)


def test_settings_spelling(tmp_path):
    settings = Settings(data_dir=tmp_path, secret_key=TEST_SECRET, smtp_security="STARTTLS")
    assert settings.smtp_security == "starttls"


async def test_refused_recipient_is_not_retried(make_settings, smtp):
    settings = make_settings(rate_limit_enabled=False, **FAST_MAIL, **smtp.settings())
    refused = REFUSED + "example.com"
    async with running(settings) as app, client_of(app) as client:
        await signup(client, "ghost", email=refused)

        async def given_up() -> bool:
            return any(row.failed_at for row in await _outbox(app))

        await _until(given_up)
        await signup(client, "alice", email=ALICE)
        await request_reset(client, ALICE)
        await smtp.wait_for(2)
        (row,) = [row for row in await _outbox(app) if row.recipient == refused]
        assert row.attempts == 1 and "550" in row.last_error and row.message == ""
    assert smtp.to(refused) == []
