"""Refusals of the audit domain."""

from authgate.errors import AppError


class BadCursor(AppError):
    status, code = 422, "validation_error"
