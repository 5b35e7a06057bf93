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
from authgate.sessions.opening import SessionOpening
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
        self, current: SessionState, new: NewSession, now: datetime, *,
        amr: str | None = None, context: EventContext = NO_CONTEXT, method: str | None = None,
    ) -> None:  # fmt: skip
        amr = amr or " ".join(current.amr)
        self._secret: str | None = None
        self._tokens: TokenSessionOpening | None = None
        opening: SessionOpening
        if current.kind == "cookie":
            opening = SessionOpening(
                current.user.id, "cookie", now=now, lifetime=new.cookie_age,
                user_agent=new.user_agent, ip=new.ip,
                absolute=new.lifetimes.absolute, amr=amr, context=context, method=method,
            )  # fmt: skip
            self._secret = opening.secret
        else:
            opening = self._tokens = TokenSessionOpening(
                current.user.id, new.lifetimes, now=now, user_agent=new.user_agent,
                ip=new.ip, amr=amr, context=context, method=method,
            )  # fmt: skip
        self.session_id = opening.id
        self.insert: Callable[[Connection], object] = opening.insert

    def replacement(self, codec: TokenCodec) -> Replacement:
        if self._tokens is None:
            return Replacement(cookie_secret=self._secret)
        return Replacement(tokens=self._tokens.pair(codec))
