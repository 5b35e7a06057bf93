"""A session replaced by a new one (new id, new secrets) after a new proof of identity.

ASVS 7.2.4: a password change or a re-authentication ends the session it happened on and
opens another, so that whatever may have been copied from the old one (a cookie, a refresh
token, an access token) is worth nothing afterwards.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from authgate.audit.events import NO_CONTEXT, EventContext
from authgate.security.tokens import TokenCodec
from authgate.sessions.service import INSERT_SESSION, record_login, session_row
from authgate.sessions.store import SessionState
from authgate.sessions.tokens import Lifetimes, TokenPair, TokenSessionOpening


@dataclass(frozen=True, slots=True)
class NewSession:
    """How to open the caller's next session: lifetimes and where the request came from."""

    cookie_age: int
    lifetimes: Lifetimes
    user_agent: str
    ip: str


@dataclass(frozen=True, slots=True)
class Replacement:
    """What the caller's session became: a cookie secret, or a token pair."""

    cookie_secret: str | None = None
    tokens: TokenPair | None = None


class SessionSuccessor:
    """The next session of `current`, like it (same kind; the same `amr` unless a step-up
    adds to it): rows made now, inserted (and its `login_succeeded` recorded, `method` in its
    detail) by `insert` inside the unit that ends `current`."""

    def __init__(
        self, current: SessionState, opening: NewSession, now: datetime, *,
        amr: str | None = None, context: EventContext = NO_CONTEXT, method: str | None = None,
    ) -> None:  # fmt: skip
        user_id, amr = current.user.id, amr or " ".join(current.amr)
        self._secret: str | None = None
        self._tokens: TokenSessionOpening | None = None
        self.insert: Callable[[Connection], object]
        if current.kind == "cookie":
            row, self._secret = session_row(
                user_id, "cookie", now=now, lifetime=opening.cookie_age,
                user_agent=opening.user_agent, ip=opening.ip,
                absolute=opening.lifetimes.absolute, amr=amr,
            )  # fmt: skip
            self.session_id = row["id"]

            def insert(connection: Connection) -> None:
                INSERT_SESSION.run(connection, row)
                record_login(connection, context, user_id, row["id"], "cookie", method)

            self.insert = insert
        else:
            self._tokens = TokenSessionOpening(
                user_id, opening.lifetimes, now=now, user_agent=opening.user_agent,
                ip=opening.ip, amr=amr, context=context, method=method,
            )  # fmt: skip
            self.session_id = self._tokens.session["id"]
            self.insert = self._tokens.insert

    def replacement(self, codec: TokenCodec) -> Replacement:
        if self._tokens is None:
            return Replacement(cookie_secret=self._secret)
        return Replacement(tokens=self._tokens.pair(codec))
