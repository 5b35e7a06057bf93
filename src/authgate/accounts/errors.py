"""Refusals of the accounts domain."""

from authgate.errors import AppError, InvalidCredentials


class UsernameTaken(AppError):
    status, code = 400, "username_taken"


class EmailTaken(AppError):
    status, code = 400, "email_taken"


class WrongPassword(AppError):
    """The current password given to confirm a change is wrong: 400, not 401, the caller is
    authenticated."""

    status, code = 400, "invalid_credentials"


class PasswordPolicyError(AppError):
    status, code = 422, "password_policy"


class LoginRefused(InvalidCredentials):
    """Credentials refused: to the client, `invalid_credentials` whatever the reason; for the
    audit trail, whose account it was (None when no user has the name) and why."""

    def __init__(self, user_id: int | None, reason: str) -> None:
        super().__init__()
        self.user_id = user_id
        self.reason = reason
