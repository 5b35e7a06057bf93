"""Username and e-mail normalisation, and the password policy."""

import gzip
import re
import unicodedata
from functools import cache
from importlib.resources import files

from authgate.accounts.errors import PasswordPolicyError

USERNAME_PATTERN = r"^[\w.@+-]{1,150}$"
USERNAME_KEY = re.compile(r"^[\w.@+-]+$")
USERNAME_KEY_MAX = 600  # the username_key column's length
PASSWORD_MAX_LENGTH = 1024
# RFC 5322's dot-atom before the @, host-name labels after it, the last one starting with a
# letter (a top-level domain). No lookahead: every regex engine reading the schema can use it.
EMAIL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_TLD = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^{EMAIL_ATOM}(?:\.{EMAIL_ATOM})*@(?:{EMAIL_LABEL}\.)+{EMAIL_TLD}$"
EMAIL_MAX_LENGTH = 254
# The 20,000 most common passwords, as shipped by Django (BSD licence).
COMMON_PASSWORDS_FILE = "common-passwords.txt.gz"


def username_key(username: str) -> str:
    """The form in which usernames are unique: `Alice`, `alice` and `ａｌｉｃｅ` are one name."""
    return unicodedata.normalize("NFKC", username).casefold()


def is_comparable(username: str) -> bool:
    """Whether the compared form of `username` is still a name that fits the user table.

    NFKC can turn one character into a phrase with spaces (U+FDFA) or many characters, so the
    normalised form is checked too: it must keep to the username alphabet and the column.
    """
    key = username_key(username)
    return len(key) <= USERNAME_KEY_MAX and USERNAME_KEY.match(key) is not None


def email_key(email: str | None) -> str | None:
    return email.strip().lower() if email else None


@cache
def _common_passwords() -> frozenset[str]:
    data = files("authgate.accounts").joinpath(COMMON_PASSWORDS_FILE).read_bytes()
    return frozenset(gzip.decompress(data).decode().split())


def check_password(password: str, username: str | None, min_length: int) -> None:
    """Raise `PasswordPolicyError` with a localised reason when `password` breaks a rule."""
    if len(password) < min_length:
        raise PasswordPolicyError("password_too_short", min_length=min_length)
    if len(password) > PASSWORD_MAX_LENGTH:
        raise PasswordPolicyError("password_too_long", max_length=PASSWORD_MAX_LENGTH)
    if username and username_key(password) == username_key(username):
        raise PasswordPolicyError("password_like_username")
    if password.lower().strip() in _common_passwords():
        raise PasswordPolicyError("password_too_common")
