"""Request bodies that may come as JSON or as a form, validated into one pydantic model."""

import json
from typing import Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from authgate.errors import UnsupportedMediaType

Model = TypeVar("Model", bound=BaseModel)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_FORM_FIELDS = 50


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_json(kind: str) -> bool:
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


async def parse_body(request: Request, model: type[Model], *, forms: bool = True) -> Model:
    """`model` from a JSON body, or from a form when `forms`; 415 for any other body type."""
    kind = media_type(request)
    if is_json(kind):
        data = await _json(request)
    elif forms and kind in FORM_TYPES:
        data = await _form(request)
    else:
        raise UnsupportedMediaType()
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(_located(exc.errors(include_url=False))) from None


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting too deep
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body",),
                    "msg": f"JSON decode error: {exc}",
                    "input": {},
                }
            ]
        ) from None


async def _form(request: Request) -> dict[str, Any]:
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    except StarletteHTTPException as exc:
        if exc.status_code == 413:  # the body limit, not a malformed form
            raise
        problem = str(exc.detail)
    except Exception as exc:  # multipart parser errors come in several types
        problem = str(exc)
    else:
        # An empty field of an HTML form is a value not given (an optional e-mail left blank).
        return {key: value for key, value in form.items() if isinstance(value, str) and value}
    raise RequestValidationError(
        [{"type": "form_invalid", "loc": ("body",), "msg": problem[:200], "input": {}}]
    )


def _located(errors: list[Any]) -> list[Any]:
    for error in errors:
        error["loc"] = ("body", *error.get("loc", ()))
    return errors


async def optional_json_object(request: Request) -> dict[str, Any] | None:
    """The JSON object in the body, None when there is no body; 415 for another body type."""
    raw = await request.body()
    if not raw.strip():
        return None
    if not is_json(media_type(request)):
        raise UnsupportedMediaType()
    data = await _json(request)
    if not isinstance(data, dict):
        problem = {"type": "dict_type", "loc": ("body",), "msg": "Input should be an object"}
        raise RequestValidationError([{**problem, "input": {}}])
    return data


async def json_only(request: Request) -> None:
    """A dependency of routes whose body is a JSON model: any other body type is 415."""
    if not is_json(media_type(request)):
        raise UnsupportedMediaType()


JSON_ONLY = [Depends(json_only)]
