"""Re-authentication on a live session: a fresh proof of identity for sensitive changes.

The proof is the password, a TOTP code, a recovery code or a passkey's answer to options
bound to the user (`passkeys.reauthentication_options`). The session it happened on is
replaced by a new one (see `replacement`) whose `auth_time` is now and whose `amr` adds the
method just used to the earlier ones: sensitive changes look at the first, mandatory MFA at
the second.
"""

from datetime import datetime

from sqlalchemy import Connection

from authgate.accounts import service as accounts
from authgate.audit import service as audit
from authgate.audit.events import NO_CONTEXT, EventContext, EventType
from authgate.db import Database
from authgate.errors import InvalidCredentials, TokenRevoked
from authgate.mfa import service as mfa
from authgate.passkeys import assertion as passkeys
from authgate.passkeys.errors import PasskeyRejected
from authgate.passkeys.service import RelyingParty
from authgate.security.keystore import KeyCipher
from authgate.security.passwords import PasswordHasher
from authgate.security.tokens import TokenCodec
from authgate.sessions.replacement import NewSession, Replacement, SessionSuccessor
from authgate.sessions.schemas import ReauthRequest
from authgate.sessions.service import end_sessions
from authgate.sessions.store import SessionState

# RFC 8176 values each proof adds: a passkey is a hardware-bound key that tested the user.
METHOD_AMR = {
    "password": ("pwd",),
    "totp": ("otp",),
    "recovery_code": (),
    "passkey": ("hwk", "user"),
}
POSSESSION = {"otp", "hwk", "swk"}


class ReauthenticationRejected(InvalidCredentials):
    """A wrong password or code: 400 (the caller stays logged in), counted as a failed log-in,
    so that a stolen session cannot guess the password through this route. For the audit
    trail: which method, and why."""

    status = 400

    def __init__(self, method: str, reason: str) -> None:
        super().__init__()
        self.method, self.reason = method, reason


def stepped_up_amr(amr: tuple[str, ...], method: str, user_verified: bool = False) -> str:
    """The `amr` of a session replaced after a step-up by `method`: what proved the old one,
    and now `method`; `mfa` once two different factors have been shown."""
    values = [value for value in amr if value != "mfa"]
    values += [value for value in METHOD_AMR[method] if value not in values]
    second = method == "recovery_code" or bool(POSSESSION & set(values))
    two = "mfa" in amr or (method == "passkey" and user_verified) or ("pwd" in values and second)
    return " ".join([*values, "mfa"] if two else values)


async def reauthenticate(
    db: Database, hasher: PasswordHasher, cipher: KeyCipher, codec: TokenCodec,
    rp: RelyingParty, session: SessionState, proof: ReauthRequest, *, now: datetime,
    opening: NewSession, context: EventContext = NO_CONTEXT,
) -> Replacement:  # fmt: skip
    """Check one proof of identity and replace the session with a new one, in one unit with
    what the proof spends (a recovery code, a TOTP step, a passkey's counter): nothing is
    spent for a session that could not be replaced (ended meanwhile, or not stored)."""
    method, user_id = proof.method, session.user.id

    def replace(connection: Connection, user_verified: bool = False) -> SessionSuccessor:
        amr = stepped_up_amr(session.amr, method, user_verified)
        successor = SessionSuccessor(session, opening, now, amr=amr, context=context,
                                     method=method)  # fmt: skip
        if not end_sessions(
            connection, [session.id], now, context,
            type=EventType.SESSION_ENDED, reason="reauthenticated",
        ):  # fmt: skip
            raise TokenRevoked()  # ended meanwhile (logged out elsewhere): no successor
        audit.record(
            connection, EventType.REAUTHENTICATED, context, user_id=user_id,
            session_id=successor.session_id, method=method, amr=amr.split(),
        )  # fmt: skip
        successor.insert(connection)
        return successor

    def spend_code(connection: Connection) -> SessionSuccessor:
        _spend_code(connection, cipher, user_id, proof, now, context)
        return replace(connection)

    if proof.password is not None:
        row = await db.read(lambda connection: accounts.get_user(connection, user_id))
        ok, _ = await hasher.verify(proof.password, row.password_hash)
        if not ok:
            raise ReauthenticationRejected(method, "wrong_password")
        successor = await db.write(replace)
    elif proof.code is not None or proof.recovery_code is not None:
        successor = await db.write(spend_code)
    else:
        try:
            successor = await passkeys.authenticate(
                db, rp, proof.passkey or {}, now, user_id=user_id,
                then=lambda connection, passed: replace(connection, passed.user_verified),
            )  # fmt: skip
        except PasskeyRejected as exc:
            raise ReauthenticationRejected(method, exc.reason) from None
    return successor.replacement(codec)


def _spend_code(
    connection: Connection, cipher: KeyCipher, user_id: int, proof: ReauthRequest,
    now: datetime, context: EventContext,
) -> None:  # fmt: skip
    """Accept the proof's TOTP code or spend its recovery code; ReauthenticationRejected (with
    nothing changed) when it is not one."""
    if proof.code is not None:
        reason = mfa.totp_refusal(connection, cipher, user_id, proof.code, now)
    else:
        spent = mfa.accept_recovery_code(
            connection, user_id, proof.recovery_code or "", now, context=context,
            purpose="reauthenticate",
        )  # fmt: skip
        reason = None if spent else "wrong_code"
    if reason is not None:
        raise ReauthenticationRejected(proof.method, reason)


async def confirm_totp(
    db: Database, cipher: KeyCipher, codec: TokenCodec, session: SessionState, code: str, *,
    now: datetime, opening: NewSession, context: EventContext = NO_CONTEXT,
) -> tuple[list[str], Replacement]:  # fmt: skip
    """Turn TOTP on with its first code on a session that mandatory MFA confines to enrolling:
    the code is a second factor shown, so the session is replaced, as a step-up with it would,
    by one whose amr says so. Returns the recovery codes and the new session."""
    amr = stepped_up_amr(session.amr, "totp")
    successor = SessionSuccessor(session, opening, now, amr=amr, context=context, method="totp")

    def work(connection: Connection) -> list[str]:
        codes = mfa.confirm_totp(connection, cipher, session.user.id, code, now, context)
        if not end_sessions(
            connection, [session.id], now, context,
            type=EventType.SESSION_ENDED, reason="mfa_enrolled",
        ):  # fmt: skip
            raise TokenRevoked()
        successor.insert(connection)
        return codes

    codes = await db.write(work)
    return codes, successor.replacement(codec)
