"""Log lines: JSON (one object a line, for collectors) or text (for a terminal).

`authgate serve` configures the root logger once per process (the supervisor and each
worker), so that authgate's own lines, the request lines and uvicorn's all come out in one
format. A record's structured fields travel in `extra={"fields": {...}}`; they are merged into
the JSON object, or appended as `key=value` to a text line. Nothing logged carries a password,
a token or a hash: the callers log names, ids and routes only.
"""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

HANDLER_NAME = "authgate"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        if not fields:
            return text
        pairs = " ".join(f"{key}={_compact(value)}" for key, value in fields.items())
        return f"{text} {pairs}"


def _compact(value: object) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    return str(value)


def resolve_format(wanted: Literal["json", "text"] | None) -> Literal["json", "text"]:
    """The format asked for, else text on a terminal and JSON lines otherwise."""
    if wanted is not None:
        return wanted
    return "text" if sys.stderr.isatty() else "json"


def configure_logging(wanted: Literal["json", "text"] | None, level: str = "info") -> None:
    """Send every logger's records at `level` and above to stderr in the chosen format.

    Idempotent: a second call replaces the handler the first one added.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER_NAME)
    fmt = resolve_format(wanted)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Which plugins alembic loads, at every start: noise.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
