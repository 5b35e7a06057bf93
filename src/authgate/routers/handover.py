"""The caller's session replaced by a new one (a password change, a re-authentication, a
second factor enrolled under mandatory MFA): how the next one opens, and how its
credentials reach the caller."""

from typing import Any

from fastapi import Request, Response

from authgate.routers.tokens import token_lifetimes
from authgate.sessions.replacement import NewSession, Replacement
from authgate.sessions.transport import set_session_cookies


def hand_over(replaced: Replacement, request: Request, response: Response) -> dict[str, Any]:
    """The new session's credentials: its cookies on `response`, or the token fields."""
    if replaced.cookie_secret is not None:
        set_session_cookies(response, request, replaced.cookie_secret)
        return {}
    pair = replaced.tokens
    assert pair is not None
    return {"access": pair.access, "refresh": pair.refresh, "token_type": "bearer",
            "expires_in": pair.expires_in}  # fmt: skip


def next_session(request: Request) -> NewSession:
    """The caller's next session, when a password change or re-authentication replaces it."""
    state = request.app.state
    return NewSession(
        state.settings.session_cookie_age, token_lifetimes(state.settings),
        request.headers.get("user-agent", ""), state.clients.client_ip(request),
    )  # fmt: skip
