"""Structured log lines: one per request, one per security event; JSON or text."""

import io
import json
import logging

import httpx
import pytest
from fastapi import FastAPI

from authgate import logs
from authgate.logs import JsonFormatter, configure_logging
from tests.bearer import bearer, create_account, token_login


def lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict]:
    """The records of `logger` as `authgate serve` writes them in JSON, parsed back."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if r.name == logger]


async def test_one_json_line_per_request(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    user = await create_account(client)
    access = (await token_login(client))["access"]
    caplog.clear()
    caplog.set_level(logging.INFO)
    await client.get("/account/me", headers={**bearer(access), "X-Request-ID": "req-me-1"})
    await client.get("/items/abc", headers={"X-Request-ID": "req-item-1"})
    me, item = lines(caplog, "authgate.request")
    assert me["method"] == "GET"
    assert me["route"] == "/account/me"
    assert me["status"] == 200
    assert me["request_id"] == "req-me-1"
    assert me["user_id"] == user["id"]
    assert 0 <= me["duration"] < 5
    assert me["level"] == "INFO" and me["logger"] == "authgate.request"
    assert (item["route"], item["status"], item["user_id"]) == ("/items/{item_id}", 404, None)


async def test_one_json_line_per_security_event(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    user = await create_account(client)
    await client.post("/login", json={"username": "nobody", "password": "whatever1"},
                      headers={"X-Request-ID": "req-lf"})  # fmt: skip
    await app.state.audit.flush()
    signup, failed = lines(caplog, "authgate.audit")
    assert signup["event"]["type"] == "signup"
    assert signup["event"]["user_id"] == user["id"]
    assert failed["event"]["type"] == "login_failed"
    assert failed["event"]["request_id"] == "req-lf"
    assert failed["event"]["detail"] == {"username": "nobody", "reason": "unknown_user"}
    assert failed["event"]["ip"] == "127.0.0.1"


@pytest.mark.usefixtures("restore_root_logging")
@pytest.mark.parametrize("wanted", ["json", "text"])
def test_configure_logging(monkeypatch: pytest.MonkeyPatch, wanted: str) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(logs.sys, "stderr", stream)
    configure_logging(wanted)  # type: ignore[arg-type]
    configure_logging(wanted)  # type: ignore[arg-type]  # idempotent: one handler
    logging.getLogger("authgate.request").info(
        "GET /x 200", extra={"fields": {"route": "/x", "status": 200}}
    )
    assert stream.getvalue() == ""  # written in batches...
    for handler in logging.getLogger().handlers:
        handler.flush()  # ...at the latest a quarter of a second later, or at exit
    (line,) = stream.getvalue().splitlines()
    if wanted == "json":
        parsed = json.loads(line)
        assert (parsed["message"], parsed["route"], parsed["status"]) == ("GET /x 200", "/x", 200)
    else:
        assert line.endswith("INFO authgate.request: GET /x 200 route=/x status=200")


@pytest.mark.usefixtures("restore_root_logging")
def test_warnings_are_written_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(logs.sys, "stderr", stream)
    configure_logging("json")
    logging.getLogger("authgate.x").info("first")
    logging.getLogger("authgate.x").warning("second")
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == [
        "first", "second",
    ]  # fmt: skip


def test_default_format_follows_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(logs.sys, "stderr", Terminal())
    assert logs.resolve_format(None) == "text"
    monkeypatch.setattr(logs.sys, "stderr", io.StringIO())
    assert logs.resolve_format(None) == "json"
    assert logs.resolve_format("text") == "text"


@pytest.mark.usefixtures("restore_root_logging")
def test_a_request_line_written_directly_reads_as_a_logged_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`logs.info` skips the LogRecord when only our JSON handler listens: same line."""
    stream = io.StringIO()
    monkeypatch.setattr(logs.sys, "stderr", stream)
    configure_logging("json")
    logger = logging.getLogger("authgate.request")
    fields = {"route": "/x", "status": 200, "request_id": 'a"b'}
    logs.info(logger, "GET /x 200", fields)
    logger.info("GET /x 200", extra={"fields": fields})
    for handler in logging.getLogger().handlers:
        handler.flush()
    direct, logged = (json.loads(line) for line in stream.getvalue().splitlines())
    assert direct.pop("time") <= logged.pop("time")
    assert direct == logged == {"level": "INFO", "logger": "authgate.request",
                                "message": "GET /x 200", **fields}  # fmt: skip


@pytest.mark.usefixtures("restore_root_logging")
def test_a_request_line_reaches_any_other_handler(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(logs.sys, "stderr", io.StringIO())
    configure_logging("json")
    caplog.set_level(logging.INFO)
    logs.info(logging.getLogger("authgate.request"), "GET /y 404", {"status": 404})
    (record,) = [r for r in caplog.records if r.name == "authgate.request"]
    assert (record.getMessage(), record.fields) == ("GET /y 404", {"status": 404})  # type: ignore[attr-defined]
