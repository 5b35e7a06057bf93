"""OpenAPI fragments: the error envelope per status, bodies accepted as JSON or form, security."""

from collections.abc import Callable, Collection
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.base import SecurityBase
from pydantic import BaseModel


class ErrorBody(BaseModel):
    detail: str
    code: str


class ValidationErrorBody(BaseModel):
    # FastAPI's list of problems for `validation_error`; a localised text for `password_policy`.
    detail: list[dict[str, Any]] | str
    code: str = "validation_error"


DESCRIPTIONS = {
    400: "Bad request (`username_taken`, `email_taken`, `invalid_credentials`, `token_invalid`, "
    "`mfa_code_invalid`, `mfa_not_enabled`)",
    401: "Not authenticated (`not_authenticated`, `invalid_credentials`, `token_*`, "
    "`mfa_required` with an `mfa_token`, `reauthentication_required`)",
    403: "Forbidden (`forbidden`, `csrf_failed`)",
    404: "Not found (`not_found`)",
    409: "Conflict (`mfa_already_enabled`)",
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


def document_security(
    app: FastAPI, scheme: SecurityBase, guards: Collection[Callable[..., Any]]
) -> None:
    """Document `scheme` on every route that is or depends on one of `guards`, and nowhere else.

    What FastAPI writes for a security scheme used as a sub-dependency, without the cost of
    resolving that sub-dependency on every request.
    """
    generate = app.openapi
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        if not documented or documented[0] is not schema:  # generated anew
            _add_security(app, schema, scheme, frozenset(guards))
            documented[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_security(
    app: FastAPI, schema: dict[str, Any], scheme: SecurityBase, guards: frozenset[Any]
) -> None:
    requirement = [{scheme.scheme_name: []}]
    used = False
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not (
            route.endpoint in guards or _is_guarded(route.dependant, guards)
        ):
            continue
        operations = schema.get("paths", {}).get(context.path_format, {})
        for method in route.methods:
            if method.lower() in operations:
                operations[method.lower()]["security"] = requirement
                used = True
    if used:
        model = jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes[scheme.scheme_name] = model


def _is_guarded(dependant: Dependant, guards: frozenset[Any]) -> bool:
    return any(sub.call in guards or _is_guarded(sub, guards) for sub in dependant.dependencies)
