"""The browser transport: the `sessionid` and `csrftoken` cookies."""

from starlette.requests import HTTPConnection, cookie_parser
from starlette.responses import Response

from authgate.middleware.headers import PENDING_HEADERS
from authgate.security.csrf import csrf_token
from authgate.settings import Settings

SESSION_COOKIE = "sessionid"
CSRF_COOKIE = "csrftoken"
# With AUTHGATE_COOKIE_HOST_PREFIX, browsers accept these names only from this very host, over
# HTTPS, for Path=/ and without Domain: no sibling subdomain can plant or shadow them.
HOST_PREFIX = "__Host-"
# The CSRF token, echoed on log-in, sign-up and every cookie-authenticated answer (exposed
# through CORS, so only allowed origins' scripts can read it, just as with the cookie).
CSRF_RESPONSE_HEADER = "X-CSRF-Token"


def session_cookie_name(settings: Settings) -> str:
    return HOST_PREFIX + SESSION_COOKIE if settings.cookie_host_prefix else SESSION_COOKIE


def csrf_cookie_name(settings: Settings) -> str:
    return HOST_PREFIX + CSRF_COOKIE if settings.cookie_host_prefix else CSRF_COOKIE


def session_cookie(conn: HTTPConnection) -> str | None:
    """The session secret the request carries: None without one, or with two different ones.

    Cookie tossing: a sibling subdomain (or anyone on the plain-HTTP path) can plant a second
    `sessionid` for this host, say with a longer Path so that browsers send it first. Whichever
    one a server picks, the planted one can win, and the victim then acts, unaware, in the
    attacker's account. Refusing both makes the request unauthenticated instead.
    """
    return _only_value(conn, session_cookie_name(conn.app.state.settings))


def csrf_cookie(conn: HTTPConnection) -> str | None:
    """The CSRF cookie's value, with the same rule as `session_cookie`."""
    return _only_value(conn, csrf_cookie_name(conn.app.state.settings))


def _only_value(conn: HTTPConnection, name: str) -> str | None:
    values = set()
    for header in conn.headers.getlist("cookie"):
        if name in header:  # most requests: one cheap test per cookie header
            for pair in header.split(";"):  # one pair at a time: `cookie_parser` keeps the last
                value = cookie_parser(pair).get(name)
                if value is not None:
                    values.add(value)
    return values.pop() if len(values) == 1 else None


def set_session_cookies(
    response: Response, conn: HTTPConnection, session_secret: str, *, max_age: int | None = None
) -> None:
    """Set both cookies; `max_age` (seconds) when the session ends sooner than a cookie's age."""
    settings: Settings = conn.app.state.settings
    secure = settings.cookie_secure or conn.app.state.clients.is_https(conn)
    common = {
        "max_age": min(settings.session_cookie_age, max_age or settings.session_cookie_age),
        "path": "/",
        "domain": settings.cookie_domain,
        "secure": secure,
        "samesite": settings.cookie_samesite,
    }
    response.set_cookie(session_cookie_name(settings), session_secret, httponly=True, **common)
    # Readable by scripts on purpose: the SPA copies it into the X-CSRF-Token header.
    token = csrf_token(conn.app.state.secret_key, session_secret)
    response.set_cookie(csrf_cookie_name(settings), token, httponly=False, **common)
    # A SPA on another origin cannot read this API's cookies: it reads the header instead.
    response.headers[CSRF_RESPONSE_HEADER] = token


def clear_session_cookies(response: Response, conn: HTTPConnection) -> None:
    settings: Settings = conn.app.state.settings
    secure = settings.cookie_secure or conn.app.state.clients.is_https(conn)
    names = ((session_cookie_name(settings), True), (csrf_cookie_name(settings), False))
    for name, httponly in names:
        response.delete_cookie(
            name,
            path="/",
            domain=settings.cookie_domain,
            secure=secure,
            httponly=httponly,
            samesite=settings.cookie_samesite,
        )


def queue_session_cookies(
    conn: HTTPConnection, session_secret: str, *, max_age: int | None = None
) -> None:
    """Re-set the cookies on this request's response, whatever the route returns."""
    carrier = Response()
    set_session_cookies(carrier, conn, session_secret, max_age=max_age)
    pending = conn.scope.setdefault("state", {}).setdefault(PENDING_HEADERS, [])
    pending.extend(h for h in carrier.raw_headers if h[0] == b"set-cookie")


def queue_csrf_header(conn: HTTPConnection, session_secret: str) -> None:
    """Echo the session's CSRF token on this request's response, whatever the route returns."""
    token = csrf_token(conn.app.state.secret_key, session_secret)
    pending = conn.scope.setdefault("state", {}).setdefault(PENDING_HEADERS, [])
    pending.append((CSRF_RESPONSE_HEADER.lower().encode(), token.encode()))
