"""The one place failures become HTTP answers: every error as `{"detail", "code"}`."""

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from authgate.errors import AppError, ServiceUnavailable
from authgate.i18n import translate

log = logging.getLogger("authgate")
# How deep an echoed input may nest in a 422 before the rest is cut off.
ECHO_DEPTH = 8
REDACTED = "********"
BODY_PARSE_ERROR = "There was an error parsing the body"  # FastAPI's own words

HTTP_CODES = {
    400: "validation_error",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "service_unavailable",
}


def language_of(request: Request) -> str:
    return getattr(request.state, "language", None) or request.app.state.settings.default_language


def error_response(request: Request, error: AppError) -> JSONResponse:
    body = {"detail": error.detail(language_of(request)), "code": error.code, **error.extra}
    return JSONResponse(body, status_code=error.status, headers=error.headers)


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(request, exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == BODY_PARSE_ERROR:
        # FastAPI's answer to a body its JSON parser gave up on (nesting past the recursion
        # limit): a body that is not valid JSON, so the contract's 422 like any other.
        problem = {"type": "json_invalid", "loc": ["body"], "msg": "JSON decode error"}
        body = {"detail": [{**problem, "input": {}}], "code": "validation_error"}
        return JSONResponse(body, status_code=422)
    code = HTTP_CODES.get(exc.status_code, "validation_error")
    body = {"detail": translate(code, language_of(request)), "code": code}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [{k: v for k, v in e.items() if k != "url"} for e in exc.errors()]
    for problem in problems:
        # Never echo a password back, not even inside a validation error.
        if any(_is_secret(part) for part in problem.get("loc", ())):
            problem.pop("input", None)
    detail = jsonable_encoder(_echoable(problems, ECHO_DEPTH), custom_encoder={bytes: _bytes})
    return JSONResponse({"detail": detail, "code": "validation_error"}, status_code=422)


def _echoable(value: Any, depth: int) -> Any:
    """`value` made safe to echo as JSON: no password, and nothing that turns a 422 into a 500.

    Python's JSON parser accepts lone surrogates, NaN and Infinity, and nesting up to the
    recursion limit; none of these can be encoded back, so they are replaced or cut off. A
    whole body echoed as the input of a body-level problem may hold a password: masked.
    """
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict | list | tuple):
        if depth <= 0:
            return "..."
        if isinstance(value, dict):
            return {
                _echoable(k, 0): REDACTED if _is_secret(k) else _echoable(v, depth - 1)
                for k, v in value.items()
            }
        return [_echoable(item, depth - 1) for item in value]
    return value


def _is_secret(key: object) -> bool:
    return isinstance(key, str) and key.lower().endswith("password")


def _bytes(value: bytes) -> str:
    return value.decode("utf-8", "replace")


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("database unavailable: %s", type(exc).__name__)
    return error_response(request, ServiceUnavailable())


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    body = {"detail": translate("internal_error", language_of(request)), "code": "internal_error"}
    return JSONResponse(body, status_code=500)


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    # A database that cannot be reached is the one 5xx the contract allows: 503.
    for unreachable in (OperationalError, InterfaceError, ConnectionError, TimeoutError):
        app.add_exception_handler(unreachable, _database_error)
    app.add_exception_handler(Exception, _unexpected)
