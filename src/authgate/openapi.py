"""OpenAPI fragments: the error envelope per status, and bodies accepted as JSON or form."""

from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    detail: str
    code: str


class ValidationErrorBody(BaseModel):
    # FastAPI's list of problems for `validation_error`; a localised text for `password_policy`.
    detail: list[dict[str, Any]] | str
    code: str = "validation_error"


DESCRIPTIONS = {
    400: "Bad request (`username_taken`, `email_taken`, `invalid_credentials`, `token_invalid`)",
    401: "Not authenticated (`not_authenticated`, `invalid_credentials`, `token_*`)",
    403: "Forbidden (`forbidden`, `csrf_failed`)",
    404: "Not found (`not_found`)",
    412: "Precondition failed (`precondition_failed`)",
    413: "Body too large (`payload_too_large`)",
    415: "Unsupported body type (`unsupported_media_type`)",
    422: "Validation failed (`validation_error`, `password_policy`)",
    429: "Rate limited (`rate_limited`), with Retry-After",
    503: "Database unreachable (`service_unavailable`)",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error responses of a route, each with the envelope it sends."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        model = ValidationErrorBody if status == 422 else ErrorBody
        documented[status] = {"model": model, "description": DESCRIPTIONS[status]}
    return documented


def form_or_json(model: type[BaseModel]) -> dict[str, Any]:
    """An `openapi_extra` that documents a body read by `authgate.bodies.parse_body`."""
    schema = model.model_json_schema()
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "application/x-www-form-urlencoded": {"schema": schema},
                "multipart/form-data": {"schema": schema},
            },
        }
    }
