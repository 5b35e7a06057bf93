"""TOTP (RFC 6238) as authenticator apps speak it: 6 digits, 30-second steps, SHA-1."""

import hmac
from datetime import datetime

import pyotp
import segno

ISSUER = "authgate"
STEP = 30
DRIFT = 1  # steps either side: a phone's clock a little off, a code typed as it rolls over


def new_secret() -> str:
    return pyotp.random_base32(length=32)  # 160 bits, as RFC 4226 recommends


def step_of(now: datetime) -> int:
    return int(now.timestamp()) // STEP


def matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    """The time step whose code `code` is, within the drift and later than `after`; else None.

    A step at or before `after` (the last one accepted) never matches: a code is good once.
    """
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = step_of(now)
    found = None
    for step in range(current - DRIFT, current + DRIFT + 1):
        # Every candidate is compared, in constant time, whatever matched before.
        if hmac.compare_digest(totp.at(step * STEP), code) and (after is None or step > after):
            found = step
    return found


def provisioning(secret: str, username: str) -> tuple[str, str]:
    """The otpauth:// URI an authenticator app scans, and its QR code as an SVG document."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=4)
    return uri, svg
