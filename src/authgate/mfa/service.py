"""A user's TOTP factor and recovery codes: set up, confirm, check, turn off, regenerate.

Every function taking a connection is a unit of work's body; the async ones run one unit.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from authgate.audit import service as audit
from authgate.audit.events import NO_CONTEXT, EventContext, EventType
from authgate.db import Database
from authgate.mfa import totp
from authgate.mfa.errors import MfaAlreadyEnabled, MfaCodeInvalid, MfaNotEnabled
from authgate.mfa.models import MfaChallenge, RecoveryCode, TotpFactor
from authgate.security.keystore import KeyCipher
from authgate.units import Prepared

FACTOR, CODE = TotpFactor.__table__, RecoveryCode.__table__
RECOVERY_CODES = 10
# 120 random bits per recovery code (24 base-32 characters): at least ASVS's 112, so a fast
# hash stores it safely; grouped by four for people to copy.
RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
RECOVERY_LENGTH = 24
TOTP_SEALING = b"authgate totp-secret encryption v1"
# Asked on every log-in whose password matched: prepared, as the log-in's other statements.
_ENROLLED = Prepared(
    select(FACTOR.c.user_id).where(
        FACTOR.c.user_id == bindparam("user_id"), FACTOR.c.confirmed_at.is_not(None)
    )
)


@dataclass(frozen=True, slots=True)
class TotpSetup:
    secret: str
    otpauth_uri: str
    qr_svg: str


def totp_cipher(secret_key: str) -> KeyCipher:
    return KeyCipher(secret_key, info=TOTP_SEALING)


def _seal(cipher: KeyCipher, user_id: int, secret: str) -> tuple[bytes, bytes]:
    return cipher.seal(str(user_id), "totp", secret.encode())


def _open(cipher: KeyCipher, row: Any) -> str:
    return cipher.open(str(row.user_id), "totp", row.nonce, row.sealed_secret).decode()


def factor(connection: Connection, user_id: int) -> Any:
    return connection.execute(select(FACTOR).where(FACTOR.c.user_id == user_id)).first()


def is_enrolled(connection: Connection, user_id: int) -> bool:
    """Whether the user has a confirmed TOTP factor (a second factor the log-in must ask for)."""
    return bool(_ENROLLED.run(connection, {"user_id": user_id}))


async def start_totp(
    db: Database, cipher: KeyCipher, user_id: int, username: str, now: datetime
) -> TotpSetup:
    """A new pending TOTP secret (replacing a pending one); refused while one is confirmed."""
    secret = totp.new_secret()
    nonce, sealed = _seal(cipher, user_id, secret)

    def work(connection: Connection) -> None:
        if is_enrolled(connection, user_id):
            raise MfaAlreadyEnabled()
        connection.execute(delete(FACTOR).where(FACTOR.c.user_id == user_id))
        row = {"user_id": user_id, "nonce": nonce, "sealed_secret": sealed, "created_at": now}
        connection.execute(insert(FACTOR).values(**row, confirmed_at=None, last_step=None))

    await db.write(work)
    uri, svg = totp.provisioning(secret, username)
    return TotpSetup(secret, uri, svg)


def confirm_totp(
    connection: Connection, cipher: KeyCipher, user_id: int, code: str, now: datetime,
    context: EventContext = NO_CONTEXT,
) -> list[str]:  # fmt: skip
    """Turn the pending factor on with a first good code; returns new recovery codes."""
    found = factor(connection, user_id)
    if found is None:
        raise MfaNotEnabled()
    if found.confirmed_at is not None:
        raise MfaAlreadyEnabled()
    step = totp.matching_step(_open(cipher, found), code, now, None)
    if step is None:
        raise MfaCodeInvalid()
    connection.execute(
        update(FACTOR).where(FACTOR.c.user_id == user_id).values(confirmed_at=now, last_step=step)
    )
    codes = _new_recovery_codes(connection, user_id, now)
    audit.record(connection, EventType.TOTP_ENABLED, context, user_id=user_id,
                 session_id=context.session_id, recovery_codes=len(codes))  # fmt: skip
    return codes


def disable_totp(connection: Connection, user_id: int, context: EventContext = NO_CONTEXT) -> None:
    """Turn the second factor off: its secret, recovery codes and open challenges go."""
    if not is_enrolled(connection, user_id):
        raise MfaNotEnabled()
    for table in (FACTOR, CODE, MfaChallenge.__table__):
        connection.execute(delete(table).where(table.c.user_id == user_id))
    audit.record(
        connection, EventType.TOTP_DISABLED, context, user_id=user_id, session_id=context.session_id
    )


def regenerate_recovery_codes(
    connection: Connection, user_id: int, now: datetime, context: EventContext = NO_CONTEXT
) -> list[str]:
    """Replace every recovery code (used or not) with new ones."""
    if not is_enrolled(connection, user_id):
        raise MfaNotEnabled()
    codes = _new_recovery_codes(connection, user_id, now)
    audit.record(connection, EventType.RECOVERY_CODES_REGENERATED, context, user_id=user_id,
                 session_id=context.session_id, recovery_codes=len(codes))  # fmt: skip
    return codes


def totp_refusal(
    connection: Connection, cipher: KeyCipher, user_id: int, code: str, now: datetime
) -> str | None:
    """None when `code` is a good TOTP code of the user's confirmed factor, not used before;
    otherwise why not (`not_enrolled`, `wrong_code`, `replayed`), for the audit trail.

    Accepting it records its time step with a compare-and-set: of two requests racing with
    one code, exactly one wins.
    """
    found = factor(connection, user_id)
    if found is None or found.confirmed_at is None:
        return "not_enrolled"
    secret = _open(cipher, found)
    step = totp.matching_step(secret, code, now, found.last_step)
    if step is None:
        # A good code of a step already used (or an older one) is a replay, not a typo.
        seen = found.last_step is not None
        replay = seen and totp.matching_step(secret, code, now, None) is not None
        return "replayed" if replay else "wrong_code"
    last = FACTOR.c.last_step
    result = connection.execute(
        update(FACTOR)
        .where(FACTOR.c.user_id == user_id, (last.is_(None)) | (last < step))
        .values(last_step=step)
    )
    return None if result.rowcount else "replayed"


def accept_recovery_code(
    connection: Connection, user_id: int, code: str, now: datetime, *,
    context: EventContext = NO_CONTEXT, purpose: str = "login",
) -> bool:  # fmt: skip
    """Spend one of the user's unused recovery codes (and record it: `purpose` is `login` or
    `reauthenticate`); False when `code` is not one."""
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    if len(normalised) != RECOVERY_LENGTH:
        return False
    result = connection.execute(
        update(CODE)
        .where(
            CODE.c.user_id == user_id,
            CODE.c.code_hash == _hash(normalised),
            CODE.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    if not result.rowcount:
        return False
    audit.record(
        connection, EventType.RECOVERY_CODE_USED, context, user_id=user_id,
        session_id=context.session_id, purpose=purpose,
        remaining=remaining_recovery_codes(connection, user_id),
    )  # fmt: skip
    return True


def remaining_recovery_codes(connection: Connection, user_id: int) -> int:
    rows = connection.execute(
        select(CODE.c.id).where(CODE.c.user_id == user_id, CODE.c.used_at.is_(None))
    )
    return len(rows.all())


def _new_recovery_codes(connection: Connection, user_id: int, now: datetime) -> list[str]:
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
             for _ in range(RECOVERY_CODES)]  # fmt: skip
    connection.execute(delete(CODE).where(CODE.c.user_id == user_id))
    connection.execute(
        insert(CODE),
        [{"user_id": user_id, "code_hash": _hash(c), "created_at": now} for c in codes],
    )
    return ["-".join(code[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4)) for code in codes]


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()
