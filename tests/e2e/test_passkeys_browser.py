"""Passkeys end to end in Debian's Chromium: a CDP virtual authenticator registers a passkey
on a small page served by the test, then logs in with it, password-less, as a fresh visitor.

The page is on `http://localhost:PORT` (a thread of this test), the API on authgate's own
`http://127.0.0.1:PORT`. WebAuthn needs a secure context and an RP ID that is the page's
host or a parent domain of it: `http://localhost` is a secure context, and `localhost` is
a domain, where an IP address such as 127.0.0.1 cannot be an RP ID. So the RP ID is
`localhost`, the WebAuthn origin the page's, and CORS lets the page call the API. The page
uses tokens (Authorization header), not cookies: localhost and 127.0.0.1 are different sites.
"""

import base64
import contextlib
import http.server
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_SECRET
from tests.e2e.cors_rig import require_chromium
from tests.e2e.served import Server, start_server, stop_server
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
STEP_TIMEOUT_MS = 20_000  # one button's work: a few API calls and the authenticator's answer
AUTHENTICATORS: dict[int, tuple[Any, str]] = {}  # id(page) -> its CDP session, authenticator

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>authgate passkeys</title></head>
<body>
<input id="username"> <input id="password" type="password">
<button id="signup">Sign up</button> <button id="login">Log in</button>
<button id="register">Add a passkey</button> <button id="list">My passkeys</button>
<button id="delete">Delete my passkeys</button>
<button id="passkey-login">Log in with a passkey</button>
<p id="outcome" data-status="idle"></p>
<script>
const API = "__API__";
let access = null;  // the session: in this page's memory only, gone on reload
window.last = null;

function toBuffer(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - base64.length % 4) % 4));
  return Uint8Array.from(binary, c => c.charCodeAt(0)).buffer;
}

function toText(buffer) {
  if (buffer === null) return null;
  const binary = String.fromCharCode(...new Uint8Array(buffer));
  return btoa(binary).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
}

async function call(method, path, json, token = access) {
  const headers = {};
  if (json !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers["Authorization"] = "Bearer " + token;
  const response = await fetch(API + path, {
    method, headers, body: json === undefined ? undefined : JSON.stringify(json),
  });
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const error = new Error(`${response.status} ${body.code}: ${body.detail}`);
    error.answer = {status: response.status, body};
    throw error;
  }
  return {status: response.status, body};
}

function credentialIds(list) {
  return (list || []).map(c => ({...c, id: toBuffer(c.id)}));
}

async function passwordLogin() {
  const body = {username: username.value, password: password.value};
  access = (await call("POST", "/account/login", body, null)).body.access;
  return `Logged in as ${username.value}`;
}

const actions = {
  async signup() {
    const body = {username: username.value, password: password.value};
    await call("POST", "/account/create-account", body, null);
    return passwordLogin();
  },
  login: passwordLogin,
  async register() {
    const options = (await call("POST", "/account/passkeys/register/options")).body;
    const credential = await navigator.credentials.create({publicKey: {
      ...options,
      challenge: toBuffer(options.challenge),
      user: {...options.user, id: toBuffer(options.user.id)},
      excludeCredentials: credentialIds(options.excludeCredentials),
    }});
    const answer = {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: toText(credential.response.clientDataJSON),
        attestationObject: toText(credential.response.attestationObject),
        transports: credential.response.getTransports(),
      },
    };
    const body = {credential: answer, name: "Virtual authenticator"};
    const stored = await call("POST", "/account/passkeys/register", body);
    window.last = stored;
    return `Passkey "${stored.body.name}" added`;
  },
  async list() {
    const listed = await call("GET", "/account/passkeys");
    window.last = listed;
    return `${listed.body.length} passkey(s): ` + listed.body.map(p => p.name).join(", ");
  },
  async delete() {
    const listed = (await call("GET", "/account/passkeys")).body;
    for (const passkey of listed) await call("DELETE", `/account/passkeys/${passkey.id}`);
    return `${listed.length} passkey(s) deleted`;
  },
  async "passkey-login"() {
    const options = (await call("POST", "/account/passkeys/login/options", undefined, null)).body;
    const credential = await navigator.credentials.get({publicKey: {
      ...options,
      challenge: toBuffer(options.challenge),
      allowCredentials: credentialIds(options.allowCredentials),
    }});
    const answer = {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: toText(credential.response.clientDataJSON),
        authenticatorData: toText(credential.response.authenticatorData),
        signature: toText(credential.response.signature),
        userHandle: toText(credential.response.userHandle),
      },
    };
    const tokens = await call("POST", "/account/passkeys/login", {credential: answer}, null);
    access = tokens.body.access;
    const me = await call("GET", "/account/me");
    window.last = {tokens: tokens.body, me: me.body};
    return `Logged in with a passkey as ${me.body.username}`;
  },
};

const outcome = document.getElementById("outcome");
for (const [name, action] of Object.entries(actions)) {
  document.getElementById(name).addEventListener("click", async () => {
    outcome.dataset.status = "busy";
    outcome.textContent = "";
    window.last = null;
    try {
      outcome.textContent = await action();
      outcome.dataset.status = "ok";
    } catch (error) {
      window.last = error.answer || null;
      outcome.textContent = `Failed: ${error.message}`;
      outcome.dataset.status = "error";
    }
  });
}
</script>
</body>
</html>
"""


class _PageHandler(http.server.BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:
        if self.path != "/":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def page_site() -> Iterator[tuple[int, type[_PageHandler]]]:
    """The page on a free port of 127.0.0.1 (the browser calls it localhost)."""
    handler = type("Handler", (_PageHandler,), {})
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield site.server_address[1], handler
    finally:
        site.shutdown()
        site.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The page's URL, its API the served authgate (RP ID localhost, the page's origin)."""
    require_chromium()
    with page_site() as (port, handler):
        origin = f"http://localhost:{port}"
        env = {
            "AUTHGATE_SECRET_KEY": TEST_SECRET,
            "AUTHGATE_WEBAUTHN_RP_ID": "localhost",
            "AUTHGATE_WEBAUTHN_ORIGINS": origin,
            "AUTHGATE_CORS_ORIGINS": origin,
        }
        started: list[Server] = []
        try:
            data_dir = Path(tmp_path_factory.mktemp("passkeys-browser"))
            server = start_server((), data_dir=data_dir, env=env, timeout=None, started=started)
            handler.page = PAGE.replace("__API__", server.url).encode()
            yield f"{origin}/"
        finally:
            for each in started:
                stop_server(each)


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A page in a fresh context, with a CDP virtual authenticator: a platform authenticator
    that keeps discoverable credentials and verifies its user without asking."""
    context = chromium.new_context()
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        options = {
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": True,
            "hasUserVerification": True,
            "isUserVerified": True,
        }
        authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        AUTHENTICATORS[id(page)] = (cdp, authenticator["authenticatorId"])
        yield page
    finally:
        AUTHENTICATORS.clear()
        context.close()


def click(page: Any, button: str) -> tuple[str, str, Any]:
    """Click `button`, wait (bounded) for the page's outcome: (status, text, window.last)."""
    page.click(f"#{button}", timeout=STEP_TIMEOUT_MS)
    page.wait_for_function(
        "() => !['busy', 'idle'].includes(document.getElementById('outcome').dataset.status)",
        timeout=STEP_TIMEOUT_MS,
    )
    outcome = page.locator("#outcome")
    status = outcome.get_attribute("data-status")
    return status, outcome.inner_text(), page.evaluate("() => window.last")


def fresh_visit(page: Any, front: str) -> None:
    """Load the page anew: no token in memory, no cookie, only the authenticator's passkey."""
    page.goto(front)
    page.wait_for_function(
        "() => document.getElementById('outcome').dataset.status === 'idle'",
        timeout=STEP_TIMEOUT_MS,
    )
    assert page.context.cookies() == []


def credentials(page: Any) -> list[dict[str, Any]]:
    cdp, authenticator_id = AUTHENTICATORS[id(page)]
    return cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_register_a_passkey_then_log_in_with_it_and_not_after_deleting_it(
    page: Any, front: str
) -> None:
    name = f"pk{uuid.uuid4().hex[:8]}"
    page.goto(front)
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    assert click(page, "signup")[:2] == ("ok", f"Logged in as {name}")

    # Registration: the fresh password log-in is the recent authentication it needs.
    status, text, stored = click(page, "register")
    assert (status, text) == ("ok", 'Passkey "Virtual authenticator" added'), text
    assert stored["status"] == 201
    status, text, listed = click(page, "list")
    assert status == "ok", text
    assert [p["id"] for p in listed["body"]] == [stored["body"]["id"]]
    [held] = credentials(page)
    assert held["isResidentCredential"] and held["rpId"] == "localhost"

    # A fresh visitor: no session; the authenticator offers the discoverable passkey.
    fresh_visit(page, front)
    status, text, answer = click(page, "passkey-login")
    assert (status, text) == ("ok", f"Logged in with a passkey as {name}"), text
    assert answer["me"]["username"] == name
    assert set(answer["tokens"]) >= {"access", "refresh"}
    assert claims(answer["tokens"]["access"])["amr"] == ["hwk", "user", "mfa"]  # verified
    assert credentials(page)[0]["signCount"] >= 1
    status, text, listed = click(page, "list")  # the passkey session is a session like any
    assert status == "ok" and listed["body"][0]["last_used_at"] is not None, text

    # Deleted on the server (after a fresh password log-in): the authenticator still offers
    # the passkey, the server refuses it, and the page says so.
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    assert click(page, "login")[:2] == ("ok", f"Logged in as {name}")
    assert click(page, "delete")[:2] == ("ok", "1 passkey(s) deleted")
    assert click(page, "list")[2]["body"] == []
    fresh_visit(page, front)
    status, text, refused = click(page, "passkey-login")
    assert status == "error", text
    assert text.startswith("Failed: 401 invalid_credentials: "), text
    assert refused["status"] == 401 and refused["body"]["code"] == "invalid_credentials"
    assert len(credentials(page)) == 1
