"""Errors of the e-mailed-token flows."""

from authgate.errors import AppError


class LinkTokenInvalid(AppError):
    """A reset or verification token that is unknown, used, expired, superseded or for another
    purpose: one answer for all, which tells a guesser nothing."""

    status, code = 400, "token_invalid"


class EmailMissing(AppError):
    status, code = 400, "validation_error"

    def __init__(self) -> None:
        super().__init__("email_missing")
