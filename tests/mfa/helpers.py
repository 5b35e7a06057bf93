"""Helpers for second-factor tests: codes computed with pyotp at the injectable clock's time."""

import pyotp

from tests.bearer import bearer


def code_at(secret: str, clock, offset_steps: int = 0) -> str:  # type: ignore[no-untyped-def]
    return pyotp.TOTP(secret).at(int(clock.now.timestamp()) + 30 * offset_steps)


async def enrol(client, headers: dict[str, str], clock) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """Set up and confirm TOTP for the caller; returns the secret and the recovery codes."""
    started = await client.post("/account/mfa/totp", headers=headers)
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    confirmed = await client.post(
        "/account/mfa/totp/confirm", json={"code": code_at(secret, clock)}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text
    clock.advance(30)  # the confirming code is spent: the next log-in needs the next one
    return secret, confirmed.json()["recovery_codes"]


async def enrolled_user(client, clock, login) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """`login` is a token pair of the user; enrol them."""
    return await enrol(client, bearer(login["access"]), clock)
