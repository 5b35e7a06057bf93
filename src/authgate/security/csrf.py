"""CSRF tokens bound to the cookie session they protect.

The `csrftoken` cookie is an HMAC of the session's secret, so a token planted by a
neighbouring site (cookie tossing) or left over from another session never matches:
the header must equal the cookie, and the cookie must belong to this session.
"""

import base64
import hashlib
import hmac

CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csrf_token(secret_key: str, session_secret: str) -> str:
    digest = hmac.new(secret_key.encode(), b"csrf:" + session_secret.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def is_valid(secret_key: str, session_secret: str, cookie: str | None, header: str | None) -> bool:
    if not cookie or not header:
        return False
    expected = csrf_token(secret_key, session_secret)
    # compare_digest: the time taken must not tell how many leading characters matched.
    return hmac.compare_digest(header.encode(), cookie.encode()) and hmac.compare_digest(
        cookie.encode(), expected.encode()
    )
