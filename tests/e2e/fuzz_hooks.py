"""Schemathesis hooks of the fuzz run (tests/e2e/test_fuzz.py): who the fuzzer is, and the
server rules a schema cannot state.

The fuzz user sends a Bearer token (an admin's on /admin's routes), fetched by logging in;
when a route ends its session (log-out, password change, account deletion...) the next 401
makes schemathesis log in again, and a user that is gone is replaced by a new one.
"""

import os
import subprocess
import sys
from typing import Any

import requests
import schemathesis
from schemathesis import GenerationMode

from authgate.accounts.errors import PasswordPolicyError
from authgate.accounts.policy import check_password, is_comparable

BASE_URL = os.environ.get("AUTHGATE_FUZZ_URL", "")
DATA_DIR = os.environ.get("AUTHGATE_FUZZ_DATA_DIR", "")
PASSWORD = os.environ.get("AUTHGATE_FUZZ_PASSWORD", "")
TIMEOUT = 30
ADMIN_PATHS = r"^/admin/"
# Routes whose body chooses a password (the policy applies), and the field that holds it.
NEW_PASSWORDS = {
    "POST /signup": "password",
    "POST /account/create-account": "password",
    "POST /account/change-password": "new_password",
    "POST /account/password-reset/confirm": "new_password",
}


class Account:
    """One of the fuzz run's accounts. Cases may delete, deactivate or demote it (that is what
    the routes are for): then the next account of the series is made and used."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.number = prefix, 0

    @property
    def username(self) -> str:
        return f"{self.prefix}{self.number}"

    def token(self, *, admin: bool) -> str:
        for _ in range(5):  # bounded: a fresh account logs in unless the server is broken
            access = self._log_in()
            if access is not None and (not admin or _is_admin(access)):
                return access
            self.number += 1
            self._create(admin=admin)
        raise AssertionError(f"no usable fuzz account after {self.username}")

    def _log_in(self) -> str | None:
        response = _post("/account/login", {"username": self.username, "password": PASSWORD})
        return str(response.json()["access"]) if response.status_code == 200 else None

    def _create(self, *, admin: bool) -> None:
        if admin:  # as an operator makes the first admin: the command line
            command = [sys.executable, "-m", "authgate", "create-admin", self.username,
                       "--password-stdin"]  # fmt: skip
            environment = {**os.environ, "AUTHGATE_DATA_DIR": DATA_DIR}
            subprocess.run(command, input=f"{PASSWORD}\n", env=environment, check=True,
                           capture_output=True, text=True, timeout=TIMEOUT)  # fmt: skip
        else:
            credentials = {"username": self.username, "password": PASSWORD}
            response = _post("/account/create-account", credentials)
            assert response.status_code in (201, 400), response.text  # 400: a case took it


def _is_admin(access: str) -> bool:
    response = requests.get(
        f"{BASE_URL}/account/me", headers={"Authorization": f"Bearer {access}"}, timeout=TIMEOUT
    )
    return response.status_code == 200 and response.json()["is_admin"] is True


def _post(path: str, body: dict[str, str]) -> requests.Response:
    return requests.post(f"{BASE_URL}{path}", json=body, timeout=TIMEOUT)


def _bearer(case: schemathesis.Case, access: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {access}"}


@schemathesis.auth().skip_for(path_regex=ADMIN_PATHS)
class FuzzUser:
    """A user's access token, for every route but /admin's."""

    account = Account("fuzzer")

    def get(self, case: schemathesis.Case, context: Any) -> str:
        return self.account.token(admin=False)

    def set(self, case: schemathesis.Case, data: str, context: Any) -> None:
        _bearer(case, data)


# 403 too: a case may have taken this admin's rights away (PATCH /admin/users/{id}).
@schemathesis.auth(retry_on=[401, 403]).apply_to(path_regex=ADMIN_PATHS)
class FuzzAdmin:
    """An administrator's access token, for /admin's routes."""

    account = Account("fuzz-admin")

    def get(self, case: schemathesis.Case, context: Any) -> str:
        return self.account.token(admin=True)

    def set(self, case: schemathesis.Case, data: str, context: Any) -> None:
        _bearer(case, data)


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: schemathesis.Case) -> bool:
    """Keep the schema-valid cases that the server's other rules accept too.

    Only for positive cases: each rule here is one the server enforces and documents (in the
    field's description or the route's) but no JSON schema can express, so a case breaking it
    is not "valid data" the server must accept. Negative cases are never filtered.
    """
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE:
        return True
    label = f"{case.method} {case.operation.path}"
    body = case.body if isinstance(case.body, dict) else {}
    query = case.query or {}
    if label == "PUT /items/{item_id}":
        # One source of `name` and `size`: a JSON body, or both as query parameters.
        return isinstance(case.body, dict) or {"name", "size"} <= set(query)
    if "cursor" in query:
        # A cursor is handed out in `next`; one never handed out is refused like a forged token.
        return False
    if label in NEW_PASSWORDS:
        return _keeps_to_policy(body, NEW_PASSWORDS[label])
    return True


def _keeps_to_policy(body: dict[str, Any], field: str) -> bool:
    username = body.get("username")
    if isinstance(username, str) and not is_comparable(username):
        return False  # its compatibility form (NFKC) leaves the username alphabet
    password = body.get(field)
    if not isinstance(password, str):
        return True
    try:
        check_password(password, username if isinstance(username, str) else None, min_length=1)
    except PasswordPolicyError:
        return False  # a commonly used password, or the username itself
    return True
