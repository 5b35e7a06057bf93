"""The HTTP protocol `authgate serve` runs: uvicorn's, but no client can hold it open or bloat it.

uvicorn's httptools protocol takes request lines and headers of any size and number and
waits for them, and for a body, without end; it only times a keep-alive connection that
sits idle after a response. A client that trickles its headers or its body (slowloris),
or sends megabytes of headers, holds a connection and its memory for as long as it likes.
`GuardedHttpToolsProtocol` bounds all of it with the `AUTHGATE_MAX_HEADER_BYTES`,
`AUTHGATE_MAX_HEADERS`, `AUTHGATE_HEADER_TIMEOUT` and `AUTHGATE_BODY_TIMEOUT` settings:
431 for too much header, 408 for too slow, then the connection closes.
"""

import functools
import json
from asyncio import TimerHandle
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Literal

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from authgate.coalesce import HeadWithBody
from authgate.i18n import CONTENT_LANGUAGE, translate
from authgate.middleware.headers import RequestIds
from authgate.settings import Settings

REFUSAL_CODES = {408: "request_timeout", 431: "headers_too_large"}
API_VERSION = version("authgate").encode()
# Per header line, beyond its name and value: ": " and CRLF.
HEADER_LINE_OVERHEAD = 4
# After a refusal, how long what the client still sends is read and dropped before closing.
LINGER = 2.0


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_header_bytes: int
    max_headers: int
    header_timeout: float
    body_timeout: float
    language: str


@functools.cache
def connection_limits() -> ConnectionLimits:
    """This process's limits, read once from the settings `authgate serve` validated."""
    settings = Settings()
    return ConnectionLimits(
        settings.max_header_bytes,
        settings.max_headers,
        settings.header_timeout,
        settings.body_timeout,
        settings.default_language,
    )


class Refused(Exception):
    """Raised by a parser callback to stop parsing and answer `status`."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header limits and read timeouts.

    One timer per connection at most, armed only while the connection waits on the client:
    for the first request's headers (from the connection's start), for a request's headers
    once its first bytes came, and for a body that did not come with its headers. A request
    that arrives whole in one read, the usual case, arms none.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = connection_limits()
        self.deadline: TimerHandle | None = None
        # Where the parser is: between requests, inside a request's head, inside its body.
        self.phase: Literal["idle", "head", "body"] = "idle"
        self.heads = 0  # heads completed on this connection
        # Bytes of the reads that neither began nor ended within the current head: what the
        # parser buffers for a head that takes several reads, counted while it comes.
        self.head_raw = 0
        self.read_size = 0  # the read being parsed
        self.head_in_one_read = True  # the current head began within the read being parsed
        self.refused = False  # once refused, nothing more is read from the connection

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.answers = HeadWithBody(transport)
        self._arm(self.limits.header_timeout)  # a connection that never sends is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own, except that a limit raised by our callbacks answers with its own
        # status: uvicorn answers any callback error with a 400 logged as an invalid request.
        if self.refused:
            return
        self._unset_keepalive_if_required()
        heads, head_open = self.heads, self.phase != "body"
        self.read_size = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if isinstance(exc.__context__, Refused):
                self._refuse(exc.__context__.status)
            else:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:  # as uvicorn does
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self.phase == "head":
            self.head_in_one_read = False  # it goes on in the next read
        if head_open and self.phase != "body" and self.heads == heads:
            self.head_raw += len(data)
            if self.head_raw > self.limits.max_header_bytes:
                self._refuse(431)
                return
        if self.deadline is None:
            self._arm_if_waiting()

    def _arm_if_waiting(self) -> None:
        if self.phase == "head":
            self._arm(self.limits.header_timeout)
        elif self.phase == "body":
            self._arm(self.limits.body_timeout)
        elif self.timeout_keep_alive_task is None and self._is_free():
            self._arm(self.limits.header_timeout)  # bytes that begin no request (blank lines)

    # Parser callbacks.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.phase = "head"
        self.head_in_one_read = True

    def on_headers_complete(self) -> None:
        # Checked once the head is whole (a check per header line costs every request more),
        # and `head_raw` has already refused a head that spans reads and grows past the limit,
        # so a head refused here is at most one read of the socket.
        headers, limits = self.headers, self.limits
        if len(headers) > limits.max_headers:
            raise Refused(431)
        # A head that came within one read is no larger than it: measured only when that
        # read could hold too much, or when the head took several (a usual request comes
        # whole in one small read).
        if not self.head_in_one_read or self.read_size > limits.max_header_bytes:
            size = len(self.url) + sum(len(n) + len(v) for n, v in headers)
            if size + HEADER_LINE_OVERHEAD * len(headers) > limits.max_header_bytes:
                raise Refused(431)
        self._disarm()
        self.phase, self.heads, self.head_raw = "body", self.heads + 1, 0
        super().on_headers_complete()
        self.cycle.transport = self.answers  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        self._disarm()
        self.phase = "idle"
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self.answers.flush()  # a head with no body after it (HEAD, or a bodiless answer)
        super().on_response_complete()

    # Timers and refusals.
    def _arm(self, delay: float) -> None:
        self._disarm()
        self.deadline = self.loop.call_later(delay, self._timed_out)

    def _disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _is_free(self) -> bool:
        """No response is being prepared or sent on this connection."""
        return self.cycle is None or self.cycle.response_complete

    def _timed_out(self) -> None:
        self.deadline = None
        if self.transport.is_closing():
            return
        if self.phase == "body" and self.pipeline:
            # A pipelined request waits its turn, and uvicorn reads nothing meanwhile.
            self._arm(self.limits.body_timeout)
        elif self.phase == "idle" or (self.phase == "body" and self._is_free()):
            # Nothing of a request came, or the app already answered without the rest of
            # the body: close without a word, as for an idle keep-alive connection.
            self.transport.close()
        else:
            self._refuse(408)

    def _refuse(self, status: int) -> None:
        """Answer `status` and close; while another answer is due first, close after it."""
        self._disarm()
        self.refused = True
        cycle = self.cycle
        if not self._is_free():
            if self.phase != "body":
                # Pipelining: the answer to an earlier request is due first, and nothing may
                # go out before it. Read no more, and close once it is sent.
                cycle.keep_alive = False
                self.flow.pause_reading()
                return
            if cycle.response_started:
                # The app answers already but its body never came: no room for a 408.
                self.transport.close()
                return
            # The app waits for a body that will not come: it is told the client left, and
            # whatever it answers is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        client = "{}:{}".format(*self.client) if self.client else "?"
        self.logger.info("%s - refused with %d: %s", client, status, REFUSAL_CODES[status])
        self.transport.write(_refusal(status, self.limits.language, self.server_state))
        self._close_softly()

    def _close_softly(self) -> None:
        """Close after the answer, reading and dropping what still comes for a moment.

        Closed at once with unread data, a connection is reset by the kernel, and a client
        still sending its request (curl with a huge header) never reads our answer; nginx's
        lingering close, in short. `refused` makes `data_received` drop everything.
        """
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the answer ends here: the client reads EOF after it
        self.deadline = self.loop.call_later(LINGER, self.transport.close)


_request_ids = RequestIds()


def _refusal(status: int, language: str, server_state: Any) -> bytes:
    """The whole response: the error envelope, with the headers every answer carries."""
    code = REFUSAL_CODES[status]
    envelope = {"detail": translate(code, language), "code": code}
    body = json.dumps(envelope, ensure_ascii=False, separators=(",", ":"))
    payload = body.encode()
    headers: list[tuple[bytes, bytes]] = [
        *server_state.default_headers,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"content-language", CONTENT_LANGUAGE[language].encode()),
        (b"x-api-version", API_VERSION),
        (b"x-request-id", _request_ids.next()),
        (b"x-process-time", b"0.000000"),  # the app never saw it
        (b"connection", b"close"),
    ]
    head: list[bytes] = [STATUS_LINE[status]]
    head.extend(b"%s: %s\r\n" % pair for pair in headers)
    return b"".join([*head, b"\r\n", payload])
