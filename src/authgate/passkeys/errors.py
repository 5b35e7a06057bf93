"""Refusals of the passkeys domain."""

from authgate.errors import AppError, InvalidCredentials


class PasskeyInvalid(AppError):
    """A registration the authenticator's answer does not prove (or an old challenge)."""

    status, code = 400, "passkey_invalid"


class PasskeyRejected(InvalidCredentials):
    """A passkey log-in that does not verify: a failed log-in like a wrong password. For the
    audit trail: why, and whose passkey it was (None when it names none of ours)."""

    def __init__(self, reason: str, user_id: int | None = None) -> None:
        super().__init__()
        self.reason, self.user_id = reason, user_id
