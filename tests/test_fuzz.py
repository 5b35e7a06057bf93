"""Schemathesis against the app: no request it can make gets a 5xx or an undocumented answer.

Every operation of /openapi.json, with schema-valid (positive) and schema-violating (negative)
data, sent with a live cookie session and its CSRF header so that protected routes are reached.
All of schemathesis's checks run (no 5xx, documented status codes, content types, headers and
bodies, invalid data rejected...) except the one noted at EXCLUDED_CHECKS.
"""

from collections import defaultdict
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from authgate import create_app
from tests.helpers import PASSWORD

# Bounded: the whole module stays well under a minute.
MAX_EXAMPLES = 30
# Schema-valid data that the rules refuse on purpose (a common password, a taken name, a
# failed precondition) is a 4xx by design: "valid data must be accepted" does not apply.
EXCLUDED_CHECKS = [positive_data_acceptance]
USERNAME = "fuzzer"

Seen = defaultdict[str, set[int]]


@pytest.fixture
def fuzz_app(make_settings) -> Iterator[FastAPI]:  # type: ignore[no-untyped-def]
    """An app on a fresh database; schemathesis drives it on its own event loop."""
    app = create_app(make_settings(rate_limit_enabled=False))
    with asgi.get_client(app) as client:
        response = client.post("/signup", json={"username": USERNAME, "password": PASSWORD})
        assert response.status_code == 201, response.text
    yield app
    asgi.shutdown_lifespans()


def log_in(app: FastAPI) -> tuple[dict[str, str], dict[str, str]]:
    """A fresh cookie session: the cookies, and the CSRF header to send with every request."""
    with asgi.get_client(app) as client:
        credentials = {"username": USERNAME, "password": PASSWORD}
        response = client.post("/login", json=credentials)
        if response.status_code == 401:  # DELETE /account/delete-account/1 deleted the fuzzer
            response = client.post("/signup", json=credentials)
        assert response.status_code in (200, 201), response.text
    cookies = {name: response.cookies[name] for name in ("sessionid", "csrftoken")}
    return cookies, {"X-CSRF-Token": cookies["csrftoken"]}


def has_inputs(operation: APIOperation) -> bool:
    raw = operation.definition.raw
    return bool(raw.get("parameters") or raw.get("requestBody"))


def fuzz(app: FastAPI, operation: APIOperation, mode: GenerationMode, seen: Seen) -> None:
    cookies, headers = log_in(app)  # a fresh session: /logout may have ended the last one

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call_and_validate(
            headers=headers, cookies=cookies, excluded_checks=EXCLUDED_CHECKS
        )
        seen[operation.label].add(response.status_code)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation(fuzz_app, mode):
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)
    seen: Seen = defaultdict(set)
    for result in schema.get_all_operations():
        operation = result.ok()
        if mode is GenerationMode.NEGATIVE and not has_inputs(operation):
            continue  # nothing there to make invalid
        fuzz(fuzz_app, operation, mode, seen)
    assert all(code < 500 for codes in seen.values() for code in codes), seen
    if mode is GenerationMode.POSITIVE:
        # The session really reached the protected routes: not everything was a 401.
        assert seen["PUT /items/{item_id}"] & {200, 201}, seen
