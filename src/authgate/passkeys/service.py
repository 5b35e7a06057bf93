"""Passkeys with py_webauthn: registration (options out, the authenticator's answer in,
verified against a challenge that is single-use and short-lived), listing and deletion, and
the challenges that log-ins and step-ups (`assertion`) use too.

A challenge is found by the hash of the challenge the authenticator signed (in its
clientDataJSON), so no other state travels between the two requests of a ceremony.
"""

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import webauthn
from sqlalchemy import Connection, delete, insert, select, update
from webauthn.helpers import base64url_to_bytes, parse_client_data_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from authgate.accounts.models import User
from authgate.accounts.snapshot import AuthUser
from authgate.audit import service as audit
from authgate.audit.events import NO_CONTEXT, EventContext, EventType
from authgate.db import Database
from authgate.passkeys.errors import PasskeyInvalid
from authgate.passkeys.models import Passkey, WebauthnChallenge
from authgate.settings import Settings

PASSKEY, CHALLENGE, USER = Passkey.__table__, WebauthnChallenge.__table__, User.__table__
CHALLENGE_LIFETIME = 300
TIMEOUT_MS = CHALLENGE_LIFETIME * 1000
# What a malformed answer can raise inside py_webauthn besides its own exceptions.
MALFORMED = (WebAuthnException, ValueError, KeyError, TypeError, AttributeError, IndexError)


@dataclass(frozen=True, slots=True)
class RelyingParty:
    rp_id: str
    rp_name: str
    origins: list[str]
    handle_key: bytes  # user handles are HMACs of user ids: opaque, nothing stored
    # With mandatory MFA a passkey must be two factors in one: user verification (a PIN or a
    # biometric on the authenticator) is required, not only preferred.
    require_user_verification: bool = False

    @property
    def user_verification(self) -> UserVerificationRequirement:
        if self.require_user_verification:
            return UserVerificationRequirement.REQUIRED
        return UserVerificationRequirement.PREFERRED

    def user_handle(self, user_id: int) -> bytes:
        return hmac.new(self.handle_key, f"webauthn-user:{user_id}".encode(), "sha256").digest()


def relying_party(settings: Settings, secret_key: str) -> RelyingParty:
    handle_key = hashlib.sha256(f"authgate webauthn user handles\0{secret_key}".encode()).digest()
    return RelyingParty(
        settings.webauthn_rp_id, settings.webauthn_rp_name,
        settings.effective_webauthn_origins, handle_key, settings.mfa_required,
    )  # fmt: skip


def _hash(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def signed_challenge(credential: dict[str, Any]) -> bytes:
    """The challenge the authenticator answered, from its clientDataJSON."""
    client_data = base64url_to_bytes(credential["response"]["clientDataJSON"])
    return parse_client_data_json(client_data).challenge


def add_challenge(purpose: str, challenge: bytes, user_id: int | None, now: datetime):  # type: ignore[no-untyped-def]
    expires_at = now + timedelta(seconds=CHALLENGE_LIFETIME)
    row = {"challenge_hash": _hash(challenge), "purpose": purpose, "user_id": user_id,
           "expires_at": expires_at, "used_at": None}  # fmt: skip

    def work(connection: Connection) -> None:
        # Answered or not, old challenges go: the table holds only the last few minutes'.
        connection.execute(delete(CHALLENGE).where(CHALLENGE.c.expires_at <= now))
        connection.execute(insert(CHALLENGE).values(**row))

    return work


def spend_challenge(
    connection: Connection, challenge: bytes, purpose: str, user_id: int | None, now: datetime
) -> bool:
    """Use a live challenge of `purpose` (and `user_id`) once; False when there is none."""
    conditions = [
        CHALLENGE.c.challenge_hash == _hash(challenge),
        CHALLENGE.c.purpose == purpose,
        CHALLENGE.c.used_at.is_(None),
        CHALLENGE.c.expires_at > now,
    ]
    if user_id is not None:
        conditions.append(CHALLENGE.c.user_id == user_id)
    result = connection.execute(update(CHALLENGE).where(*conditions).values(used_at=now))
    return bool(result.rowcount)


async def registration_options(
    db: Database, rp: RelyingParty, user: AuthUser, now: datetime
) -> dict[str, Any]:
    """Options for `navigator.credentials.create()`: a discoverable credential for `user`."""
    existing = await db.read(
        lambda c: c.execute(
            select(PASSKEY.c.credential_id).where(PASSKEY.c.user_id == user.id)
        ).scalars().all()
    )  # fmt: skip
    options = webauthn.generate_registration_options(
        rp_id=rp.rp_id, rp_name=rp.rp_name, user_name=user.username,
        user_id=rp.user_handle(user.id), timeout=TIMEOUT_MS,
        exclude_credentials=[PublicKeyCredentialDescriptor(id=c) for c in existing],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=rp.user_verification,
        ),
    )  # fmt: skip
    await db.write(add_challenge("register", options.challenge, user.id, now))
    return json.loads(webauthn.options_to_json(options))


async def register(
    db: Database, rp: RelyingParty, user_id: int, credential: dict[str, Any], name: str,
    now: datetime, context: EventContext = NO_CONTEXT,
) -> Any:  # fmt: skip
    """Verify an authenticator's registration answer and store the new passkey."""
    try:
        challenge = signed_challenge(credential)
    except MALFORMED:
        raise PasskeyInvalid() from None
    if not await db.write(lambda c: spend_challenge(c, challenge, "register", user_id, now)):
        raise PasskeyInvalid()
    try:
        verified = webauthn.verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp.rp_id,
            expected_origin=rp.origins,
            require_user_verification=rp.require_user_verification,
        )  # fmt: skip
    except MALFORMED:
        raise PasskeyInvalid() from None
    transports = credential.get("response", {}).get("transports") or []
    row = {
        "id": uuid.uuid4(), "user_id": user_id, "credential_id": verified.credential_id,
        "public_key": verified.credential_public_key, "sign_count": verified.sign_count,
        "name": name, "created_at": now, "last_used_at": None,
        "transports": " ".join(t for t in transports if isinstance(t, str))[:200],
    }  # fmt: skip

    def work(connection: Connection) -> Any:
        taken = connection.execute(
            select(PASSKEY.c.id).where(PASSKEY.c.credential_id == row["credential_id"])
        ).first()
        if taken is not None:
            raise PasskeyInvalid()
        connection.execute(insert(PASSKEY).values(**row))
        audit.record(
            connection, EventType.PASSKEY_ADDED, context, user_id=user_id,
            session_id=context.session_id, passkey_id=str(row["id"]), name=name,
        )  # fmt: skip
        return connection.execute(select(PASSKEY).where(PASSKEY.c.id == row["id"])).one()

    return await db.write(work)


def list_passkeys(connection: Connection, user_id: int) -> list[Any]:
    return list(
        connection.execute(
            select(PASSKEY).where(PASSKEY.c.user_id == user_id).order_by(PASSKEY.c.created_at)
        )
    )


def delete_passkey(
    connection: Connection, user_id: int, passkey_id: uuid.UUID,
    context: EventContext = NO_CONTEXT,
) -> bool:  # fmt: skip
    """Delete one of the user's passkeys; False when they have none with that id."""
    name = connection.execute(
        delete(PASSKEY)
        .where(PASSKEY.c.id == passkey_id, PASSKEY.c.user_id == user_id)
        .returning(PASSKEY.c.name)
    ).scalar()
    if name is None:
        return False
    audit.record(connection, EventType.PASSKEY_DELETED, context, user_id=user_id,
                 session_id=context.session_id, passkey_id=str(passkey_id), name=name)  # fmt: skip
    return True
