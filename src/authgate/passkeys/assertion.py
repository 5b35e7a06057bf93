"""Passkey assertions: options for `navigator.credentials.get()` (for a log-in, or for a
step-up on a session, bound to its user), and the authenticator's answers verified against a
challenge that is single-use and short-lived."""

import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import webauthn
from sqlalchemy import Connection, select, update
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.structs import PublicKeyCredentialDescriptor

from authgate.db import Database
from authgate.passkeys.errors import PasskeyInvalid, PasskeyRejected
from authgate.passkeys.service import (
    MALFORMED,
    PASSKEY,
    TIMEOUT_MS,
    USER,
    RelyingParty,
    add_challenge,
    signed_challenge,
    spend_challenge,
)
from authgate.units import T


@dataclass(frozen=True, slots=True)
class PasskeyLogin:
    user_id: int
    user_verified: bool


async def authentication_options(db: Database, rp: RelyingParty, now: datetime) -> dict[str, Any]:
    """Options for `navigator.credentials.get()`: any passkey of this site (discoverable)."""
    options = webauthn.generate_authentication_options(
        rp_id=rp.rp_id, timeout=TIMEOUT_MS, user_verification=rp.user_verification,
    )  # fmt: skip
    await db.write(add_challenge("login", options.challenge, None, now))
    return json.loads(webauthn.options_to_json(options))


async def reauthentication_options(
    db: Database, rp: RelyingParty, user_id: int, now: datetime
) -> dict[str, Any]:
    """Options for `navigator.credentials.get()` that only `user_id`'s passkeys may answer, with
    a challenge bound to that user (a step-up on their session)."""
    owned = await db.read(
        lambda c: c.execute(
            select(PASSKEY.c.credential_id).where(PASSKEY.c.user_id == user_id)
        ).scalars().all()
    )  # fmt: skip
    if not owned:
        raise PasskeyInvalid("passkey_none")
    options = webauthn.generate_authentication_options(
        rp_id=rp.rp_id, timeout=TIMEOUT_MS, user_verification=rp.user_verification,
        allow_credentials=[PublicKeyCredentialDescriptor(id=c) for c in owned],
    )  # fmt: skip
    await db.write(add_challenge("reauth", options.challenge, user_id, now))
    return json.loads(webauthn.options_to_json(options))


async def credential_owner(db: Database, credential: dict[str, Any]) -> str | None:
    """The username a log-in answer claims (for the log-in limits); None if unknown."""
    try:
        credential_id = base64url_to_bytes(credential["rawId"])
    except MALFORMED:
        return None
    return await db.read(
        lambda c: c.execute(
            select(USER.c.username)
            .join(PASSKEY, PASSKEY.c.user_id == USER.c.id)
            .where(PASSKEY.c.credential_id == credential_id)
        ).scalar()
    )


async def authenticate(
    db: Database, rp: RelyingParty, credential: dict[str, Any], now: datetime,
    *, then: Callable[[Connection, PasskeyLogin], T], user_id: int | None = None,
) -> T:  # fmt: skip
    """Verify an answer to log-in options (or, with `user_id`, to that user's re-authentication
    options): a live challenge, a known passkey (of `user_id`), a good signature and a
    signature counter that went forward (a cloned authenticator would repeat one).

    The challenge is spent first, whatever follows (fail closed); the counter then moves in
    one unit with `then(connection, passed)`, whose result is returned: a log-in's session
    is stored with its passkey's use, or neither is."""
    try:
        challenge = signed_challenge(credential)
        credential_id = base64url_to_bytes(credential["rawId"])
    except MALFORMED:
        raise PasskeyRejected("malformed") from None
    found = await db.read(
        lambda c: c.execute(
            select(PASSKEY, USER.c.is_active)
            .join(USER, USER.c.id == PASSKEY.c.user_id)
            .where(PASSKEY.c.credential_id == credential_id)
        ).first()
    )
    if found is None or (user_id is not None and found.user_id != user_id):
        raise PasskeyRejected("unknown_credential", user_id)
    purpose = "login" if user_id is None else "reauth"
    if not await db.write(lambda c: spend_challenge(c, challenge, purpose, user_id, now)):
        raise PasskeyRejected("challenge_invalid", found.user_id)
    if not found.is_active:
        raise PasskeyRejected("inactive", found.user_id)
    user_handle = credential.get("response", {}).get("userHandle")
    if user_handle and not _same_handle(user_handle, rp.user_handle(found.user_id)):
        raise PasskeyRejected("user_handle_mismatch", found.user_id)
    verified = _verified(rp, credential, challenge, found)
    count = verified.new_sign_count
    # Compare-and-set on what was read above: of two answers signed with one count (a key and
    # its clone, at once), one wins; a key that counts nothing (0) stays at 0; and the account
    # is still active when its session opens.
    goes_forward = PASSKEY.c.sign_count < count if count else PASSKEY.c.sign_count == 0
    active = select(USER.c.id).where(USER.c.id == PASSKEY.c.user_id, USER.c.is_active).exists()
    used = update(PASSKEY).where(PASSKEY.c.id == found.id, goes_forward, active)

    def work(connection: Connection) -> T:
        if not connection.execute(used.values(sign_count=count, last_used_at=now)).rowcount:
            raise PasskeyRejected(_refusal(connection, found.id), found.user_id)
        return then(connection, PasskeyLogin(found.user_id, verified.user_verified))

    return await db.write(work)


def _verified(rp: RelyingParty, credential: dict[str, Any], challenge: bytes, found: Any) -> Any:
    try:
        return webauthn.verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp.rp_id,
            expected_origin=rp.origins, credential_public_key=found.public_key,
            credential_current_sign_count=found.sign_count,
            require_user_verification=rp.require_user_verification,
        )  # fmt: skip
    except MALFORMED as exc:
        # py_webauthn says which check failed only in its message; the counter's matters
        # (a cloned authenticator), the others are one reason.
        reason = "counter_not_increased" if "sign count" in str(exc) else "invalid_assertion"
        raise PasskeyRejected(reason, found.user_id) from None


def _refusal(connection: Connection, passkey_id: Any) -> str:
    """Why a verified answer's passkey could not be used: what changed since it was read."""
    row = connection.execute(
        select(USER.c.is_active)
        .join(PASSKEY, PASSKEY.c.user_id == USER.c.id)
        .where(PASSKEY.c.id == passkey_id)
    ).first()
    if row is None:
        return "unknown_credential"  # deleted meanwhile
    return "counter_not_increased" if row.is_active else "inactive"


def _same_handle(given: str, expected: bytes) -> bool:
    try:
        return hmac.compare_digest(base64url_to_bytes(given), expected)
    except MALFORMED:
        return False
