"""OpenAPI fragments: the error envelope per status, bodies accepted as JSON or form, security."""

from collections.abc import Callable, Collection, Iterable, Iterator
from functools import cache
from http import HTTPStatus
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.base import SecurityBase
from pydantic import BaseModel, create_model

from authgate.bodies import FORM_TYPES
from authgate.schemas import PASSWORD_POLICY_MARK


class ErrorBody(BaseModel):
    detail: str
    code: str


class ValidationErrorBody(BaseModel):
    # FastAPI's list of problems for `validation_error`; a localised text for `password_policy`
    # and for the few rules a service checks itself.
    detail: list[dict[str, Any]] | str
    code: str = "validation_error"


# What each status answers unless a route says otherwise. 401 and 403 are the guards' answers
# (`sessions.dependencies`): a missing, bad, expired or ended credential; a cookie without its
# CSRF token.
GUARD_401 = ("not_authenticated", "token_invalid", "token_expired", "token_revoked")
# A guard that also wants a recent authentication (`sessions.stepup`).
RECENT_401 = (*GUARD_401, "reauthentication_required")
# A log-in refused, or waiting for its second factor.
LOGIN_401 = ("invalid_credentials", "mfa_required")
# A new password breaks the policy (`accounts.policy.check_password`).
NEW_PASSWORD_422 = ("validation_error", "password_policy")
DEFAULT_CODES: dict[int, tuple[str, ...]] = {
    400: ("validation_error",),
    401: GUARD_401,
    403: ("csrf_failed",),
    404: ("not_found",),
    409: ("mfa_already_enabled",),
    412: ("precondition_failed",),
    413: ("payload_too_large",),
    415: ("unsupported_media_type",),
    422: ("validation_error",),
    429: ("rate_limited",),
    503: ("service_unavailable",),
}
# The list routes' `cursor`: opaque, and only good as it was handed out.
CURSOR_HELP = "The `next` of the previous page; a cursor this API did not hand out is a 422."
NOTES = {
    "mfa_required": "; `mfa_required` comes with an `mfa_token`",
    "rate_limited": ", with `Retry-After`",
}


def responses(
    *statuses: int, codes: dict[int, Iterable[str]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The documented error responses of a route: per status, the envelope with the `code`
    values this route can answer (`codes`, or the status's usual ones) as an enum."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        answered = tuple(sorted((codes or {}).get(status, DEFAULT_CODES[status])))
        listed = ", ".join(f"`{code}`" for code in answered)
        note = "".join(NOTES.get(code, "") for code in answered)
        documented[status] = {
            "model": error_model(status, answered),
            "description": f"{HTTPStatus(status).phrase} ({listed}){note}",
        }
    return documented


@cache
def error_model(status: int, codes: tuple[str, ...]) -> type[BaseModel]:
    """The envelope whose `code` is one of `codes`: one named schema per set of codes."""
    base = ValidationErrorBody if status == 422 else ErrorBody
    name = "".join(part.title() for code in codes for part in code.split("_"))
    suffix = "Problem" if status == 422 else "Error"
    code_type = Literal[codes]  # type: ignore[valid-type]
    return create_model(f"{name}{suffix}", __base__=base, code=(code_type, ...))


def form_or_json(model: type[BaseModel], *, json_only: Collection[str] = ()) -> dict[str, Any]:
    """An `openapi_extra` that documents a body read by `authgate.bodies.parse_body`.

    A form cannot carry a null, and an empty form field counts as not sent: the form types
    are documented without the nulls the JSON body may hold. Nor can a form field hold an
    object: the `json_only` fields are left out of the form types.
    """
    schema = model.model_json_schema()
    form = _without_fields(without_nulls(schema), set(json_only))
    content = {"application/json": {"schema": schema}}
    content |= {kind: {"schema": form} for kind in FORM_TYPES}
    return {"requestBody": {"required": True, "content": content}}


def form_body(model: type[BaseModel]) -> dict[str, Any]:
    """An `openapi_extra` for a body read from an `application/x-www-form-urlencoded` form."""
    content = {
        "application/x-www-form-urlencoded": {"schema": without_nulls(model.model_json_schema())}
    }
    return {"requestBody": {"required": True, "content": content}}


def json_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """An `openapi_extra` for a body read as JSON only (`parse_body(..., forms=False)`)."""
    content = {"application/json": {"schema": model.model_json_schema()}}
    return {"requestBody": {"required": required, "content": content}}


def _without_fields(schema: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """`schema` (an object's) without the properties `names`, nor the `oneOf` alternatives
    that require one of them."""
    if not names:
        return schema
    result = dict(schema)
    result["properties"] = {k: v for k, v in schema["properties"].items() if k not in names}
    if "oneOf" in schema:
        result["oneOf"] = [alternative for alternative in schema["oneOf"]
                           if not names & set(alternative.get("required", ()))]  # fmt: skip
    return result


def without_nulls(schema: Any) -> Any:
    """`schema` with every `null` alternative (and null default) taken out."""
    if isinstance(schema, list):
        return [without_nulls(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {k: without_nulls(v) for k, v in schema.items() if not (k == "default" and v is None)}
    alternatives = [a for a in result.get("anyOf", ()) if a != {"type": "null"}]
    if "anyOf" in result and len(alternatives) == 1:
        del result["anyOf"]
        result = {**alternatives[0], **result}
    return result


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
    for operation in _guarded_operations(app, schema, guards):
        operation["security"] = requirement
        used = True
    if used:
        model = jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes[scheme.scheme_name] = model


def _guarded_operations(
    app: FastAPI, schema: dict[str, Any], guards: frozenset[Any]
) -> Iterator[dict[str, Any]]:
    """The operations in `schema` of every route that is or depends on one of `guards`."""
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not (
            route.endpoint in guards or _is_guarded(route.dependant, guards)
        ):
            continue
        operations = schema.get("paths", {}).get(context.path_format, {})
        for method in route.methods:
            if method.lower() in operations:
                yield operations[method.lower()]


def _is_guarded(dependant: Dependant, guards: frozenset[Any]) -> bool:
    return any(sub.call in guards or _is_guarded(sub, guards) for sub in dependant.dependencies)


def document_mfa_enrollment(app: FastAPI, guards: Collection[Callable[..., Any]]) -> None:
    """Under mandatory MFA (`AUTHGATE_MFA_REQUIRED`): add `mfa_enrollment_required` to the 403
    codes of every route that is or depends on one of `guards`, the guards a session that has
    yet to enrol a second factor does not pass."""
    generate = app.openapi
    confining = frozenset(guards)

    def openapi() -> dict[str, Any]:
        schema = generate()
        for operation in _guarded_operations(app, schema, confining):
            _add_403_code(schema, operation, MFA_ENROLLMENT)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


MFA_ENROLLMENT = "mfa_enrollment_required"


def _add_403_code(schema: dict[str, Any], operation: dict[str, Any], code: str) -> None:
    """Document `code` among the operation's 403 codes (idempotent: the schema is cached)."""
    responses = operation.setdefault("responses", {})
    codes: tuple[str, ...] = ()
    if "403" in responses:
        name = responses["403"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
        listed = schema["components"]["schemas"][name]["properties"]["code"]
        codes = tuple(listed["enum"]) if "enum" in listed else (listed["const"],)
    if code in codes:
        return
    codes = tuple(sorted((*codes, code)))
    model = error_model(403, codes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components[model.__name__] = model.model_json_schema()
    listed_codes = ", ".join(f"`{c}`" for c in codes)
    responses["403"] = {
        "description": f"{HTTPStatus(403).phrase} ({listed_codes})",
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
        },
    }


def document_password_policy(app: FastAPI, min_length: int) -> None:
    """Give every new password in the schema the minimum length this app's policy enforces
    (`AUTHGATE_PASSWORD_MIN_LENGTH`), which is only known once the settings are."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        # FastAPI builds the schema once, as new objects; the mark goes on the first pass.
        _set_min_length(schema, min_length)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _set_min_length(node: Any, min_length: int) -> None:
    if isinstance(node, list):
        for item in node:
            _set_min_length(item, min_length)
    elif isinstance(node, dict):
        if node.pop(PASSWORD_POLICY_MARK, False):
            node["minLength"] = min_length
        for value in node.values():
            _set_min_length(value, min_length)
