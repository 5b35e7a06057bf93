"""Refusals of the accounts domain."""

from authgate.errors import AppError


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
