"""An answer's head held back until the first bytes of its body, so both go out in one write."""

from typing import Any

CONTINUE = b"HTTP/1.1 100 "


class HeadWithBody:
    """The transport as a request's cycle sees it: an answer's head waits for the first bytes
    of its body, and both go out in one write.

    uvicorn writes the head and the body of an answer apart, each a system call and a TCP
    segment of its own: the head's write was a sixth of a Bearer GET /account/me's samples in
    a profile of the server (py-spy). The head is held only until the next write, a flush (the
    answer is complete) or any other use of the transport, and "100 Continue" is never held.
    """

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        if self._head is not None:
            data, self._head = self._head + data, None
        elif data.startswith(b"HTTP/") and not data.startswith(CONTINUE):
            self._head = data
            return
        self._transport.write(data)

    def flush(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            self._transport.write(head)

    def __getattr__(self, name: str) -> Any:
        self.flush()  # closing, or asking whether it is closing: what was held goes first
        return getattr(self._transport, name)
