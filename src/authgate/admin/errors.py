"""Refusals of the administration domain."""

from authgate.errors import AppError


class BadCursor(AppError):
    status, code = 422, "validation_error"
