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
@pytest.mark.parametrize(
    ("request_id", "user_id", "seconds"),
    [('a"b\\c\u00e9', 7, 0.000123456), (None, None, 1.5), ("x", 1, 1e-07)],
)
def test_a_request_line_from_its_template_reads_as_a_logged_one(
    monkeypatch: pytest.MonkeyPatch, request_id: str | None, user_id: int | None, seconds: float
) -> None:
    """`logs.request_line` skips the LogRecord when only our JSON handler listens: the same
    line as `logging` with the JSON formatter writes, key for key and in the same order."""
    stream = io.StringIO()
    monkeypatch.setattr(logs.sys, "stderr", stream)
    configure_logging("json")
    logger = logging.getLogger("authgate.request")
    for _ in range(2):  # the second from the cached template
        logs.request_line(logger, "GET", "/x/{id}", 200, seconds, request_id, user_id)
    fields = {
        "method": "GET", "route": "/x/{id}", "status": 200,
        "duration": round(seconds, 6), "request_id": request_id, "user_id": user_id,
    }  # fmt: skip
    logger.info("GET /x/{id} 200", extra={"fields": fields})
    for handler in logging.getLogger().handlers:
        handler.flush()
    first, second, logged = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first.pop("time") <= second.pop("time") <= logged.pop("time")
    assert first == second == logged
    assert list(first) == list(logged) == ["level", "logger", "message", *fields]
    assert logged["message"] == "GET /x/{id} 200"


@pytest.mark.usefixtures("restore_root_logging")
def test_a_direct_info_line_reads_as_a_logged_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """`logs.info_line` (the security events' lines) skips the LogRecord when only our JSON
    handler listens: the same line as `logging` writes, key for key and in the same order."""
    stream = io.StringIO()
    monkeypatch.setattr(logs.sys, "stderr", stream)
    configure_logging("json")
    logger = logging.getLogger("authgate.audit")
    fields = {"event": {"type": "signup", "user_id": 7, "detail": {"username": 'a"\u00e9'}}}
    logs.info_line(logger, "security event signup", fields)
    logger.info("security event %s", "signup", extra={"fields": fields})
    for handler in logging.getLogger().handlers:
        handler.flush()
    direct, logged = (json.loads(line) for line in stream.getvalue().splitlines())
    assert direct.pop("time") <= logged.pop("time")
    assert direct == logged
    assert list(direct) == list(logged) == ["level", "logger", "message", "event"]


@pytest.mark.usefixtures("restore_root_logging")
@pytest.mark.parametrize("where", ["root", "parent", "logger"])
def test_a_direct_line_reaches_a_handler_anywhere_on_its_way_to_the_root(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """A handler on the logger, on a parent between it and the root, or beside ours on the
    root: every line still goes through `logging`, so that handler sees it."""
    monkeypatch.setattr(logs.sys, "stderr", io.StringIO())
    configure_logging("json")
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    holder = {"root": "", "parent": "authgate", "logger": "authgate.audit"}[where]
    keep = Keep()
    logging.getLogger(holder).addHandler(keep)
    try:
        logger = logging.getLogger("authgate.audit")
        logs.info_line(logger, "security event logout", {"event": {"type": "logout"}})
        logs.request_line(logger, "GET", "/z", 200, 0.25, "r", None)
    finally:
        logging.getLogger(holder).removeHandler(keep)
    assert [r.getMessage() for r in seen] == ["security event logout", "GET /z 200"]
    assert seen[0].fields == {"event": {"type": "logout"}}  # type: ignore[attr-defined]


@pytest.mark.usefixtures("restore_root_logging")
def test_a_request_line_reaches_any_other_handler(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(logs.sys, "stderr", io.StringIO())
    configure_logging("json")
    caplog.set_level(logging.INFO)
    logs.request_line(logging.getLogger("authgate.request"), "GET", "/y", 404, 0.5, "r", None)
    (record,) = [r for r in caplog.records if r.name == "authgate.request"]
    assert record.getMessage() == "GET /y 404"
    assert record.fields == {"method": "GET", "route": "/y", "status": 404, "duration": 0.5,  # type: ignore[attr-defined]
                             "request_id": "r", "user_id": None}  # fmt: skip
