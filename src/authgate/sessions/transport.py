"""The browser transport: the `sessionid` and `csrftoken` cookies."""

from starlette.requests import HTTPConnection
from starlette.responses import Response

from authgate.middleware.headers import PENDING_HEADERS
from authgate.security.csrf import csrf_token
from authgate.settings import Settings

SESSION_COOKIE = "sessionid"
CSRF_COOKIE = "csrftoken"
# The CSRF token, echoed on log-in, sign-up and every cookie-authenticated answer (exposed
# through CORS, so only allowed origins' scripts can read it, just as with the cookie).
CSRF_RESPONSE_HEADER = "X-CSRF-Token"


def set_session_cookies(response: Response, conn: HTTPConnection, session_secret: str) -> None:
    settings: Settings = conn.app.state.settings
    secure = settings.cookie_secure or conn.app.state.clients.is_https(conn)
    common = {
        "max_age": settings.session_cookie_age,
        "path": "/",
        "domain": settings.cookie_domain,
        "secure": secure,
        "samesite": settings.cookie_samesite,
    }
    response.set_cookie(SESSION_COOKIE, session_secret, httponly=True, **common)
    # Readable by scripts on purpose: the SPA copies it into the X-CSRF-Token header.
    token = csrf_token(conn.app.state.secret_key, session_secret)
    response.set_cookie(CSRF_COOKIE, token, httponly=False, **common)
    # A SPA on another origin cannot read this API's cookies: it reads the header instead.
    response.headers[CSRF_RESPONSE_HEADER] = token


def clear_session_cookies(response: Response, conn: HTTPConnection) -> None:
    settings: Settings = conn.app.state.settings
    secure = settings.cookie_secure or conn.app.state.clients.is_https(conn)
    for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(
            name,
            path="/",
            domain=settings.cookie_domain,
            secure=secure,
            httponly=httponly,
            samesite=settings.cookie_samesite,
        )


def queue_session_cookies(conn: HTTPConnection, session_secret: str) -> None:
    """Re-set the cookies on this request's response, whatever the route returns."""
    carrier = Response()
    set_session_cookies(carrier, conn, session_secret)
    pending = conn.scope.setdefault("state", {}).setdefault(PENDING_HEADERS, [])
    pending.extend(h for h in carrier.raw_headers if h[0] == b"set-cookie")


def queue_csrf_header(conn: HTTPConnection, session_secret: str) -> None:
    """Echo the session's CSRF token on this request's response, whatever the route returns."""
    token = csrf_token(conn.app.state.secret_key, session_secret)
    pending = conn.scope.setdefault("state", {}).setdefault(PENDING_HEADERS, [])
    pending.append((CSRF_RESPONSE_HEADER.lower().encode(), token.encode()))
