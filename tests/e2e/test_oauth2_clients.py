"""Standard OAuth2 client libraries, used as their users write them, against `authgate serve`.

authlib's requests `OAuth2Session` and requests-oauthlib's `OAuth2Session` with a
`LegacyApplicationClient`: the password grant, a protected call, the refresh grant (by hand,
and automatically once the access token has expired: the server issues 2-second tokens),
then revocation (RFC 7009).
"""

import time
from collections.abc import Iterator

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from oauthlib.oauth2 import InvalidGrantError, LegacyApplicationClient
from requests_oauthlib import OAuth2Session as OAuthlibSession

from tests.e2e.served import Server
from tests.helpers import PASSWORD

pytestmark = pytest.mark.e2e
ACCESS_LIFETIME = 2


@pytest.fixture
def server(serve, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    # Both libraries refuse plain HTTP unless told this is a local test.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    served = serve(env={"AUTHGATE_ACCESS_TOKEN_LIFETIME": str(ACCESS_LIFETIME)})
    body = {"username": "alice", "password": PASSWORD}
    assert httpx.post(f"{served.url}/account/create-account", json=body).status_code == 201
    yield served


def discover(server: Server) -> dict:
    return httpx.get(f"{server.url}/.well-known/oauth-authorization-server").json()


def test_authlib_password_grant_refresh_auto_refresh_and_revoke(server):
    meta = discover(server)
    updates: list[dict] = []
    client = AuthlibSession(
        client_id="e2e-app",
        token_endpoint_auth_method="none",
        token_endpoint=meta["token_endpoint"],
        update_token=lambda token, refresh_token=None, access_token=None: updates.append(token),
        leeway=0,
    )
    token = client.fetch_token(meta["token_endpoint"], username="alice", password=PASSWORD)
    assert token["token_type"] == "bearer"
    assert client.get(f"{server.url}/account/me").json()["username"] == "alice"

    refreshed = client.refresh_token(meta["token_endpoint"])
    assert refreshed["refresh_token"] != token["refresh_token"]

    # The access token expires: the next call refreshes on its own, and says so.
    stale = client.token["access_token"]
    time.sleep(ACCESS_LIFETIME + 1)
    expired = httpx.get(f"{server.url}/account/me", headers={"Authorization": f"Bearer {stale}"})
    assert expired.json()["code"] == "token_expired"
    assert client.get(f"{server.url}/account/me").status_code == 200
    assert len(updates) == 2 and client.token["access_token"] != stale

    # A rotated refresh token presented again: RFC 6749 error, our code beside it.
    with pytest.raises(OAuthError) as reused:
        client.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    assert reused.value.error == "invalid_grant"

    fresh = client.fetch_token(meta["token_endpoint"], username="alice", password=PASSWORD)
    response = client.revoke_token(
        meta["revocation_endpoint"], token=fresh["refresh_token"], token_type_hint="refresh_token"
    )
    assert response.status_code == 200
    assert client.get(f"{server.url}/account/me").json()["code"] == "token_revoked"


def test_requests_oauthlib_legacy_client_with_auto_refresh_and_revoke(server):
    meta = discover(server)
    saved: list[dict] = []
    client = OAuthlibSession(
        client=LegacyApplicationClient(client_id="e2e-app"),
        auto_refresh_url=meta["token_endpoint"],
        auto_refresh_kwargs={"client_id": "e2e-app"},
        token_updater=saved.append,
    )
    token = client.fetch_token(
        token_url=meta["token_endpoint"], username="alice", password=PASSWORD,
        client_id="e2e-app", include_client_id=True,
    )  # fmt: skip
    assert client.get(f"{server.url}/account/me").json()["username"] == "alice"

    refreshed = client.refresh_token(meta["token_endpoint"], client_id="e2e-app")
    assert refreshed["refresh_token"] != token["refresh_token"]

    time.sleep(ACCESS_LIFETIME + 1)
    assert client.get(f"{server.url}/account/me").status_code == 200  # refreshed on its own
    assert len(saved) == 1 and saved[0]["access_token"] != refreshed["access_token"]

    with pytest.raises(InvalidGrantError):
        client.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])

    fresh = client.fetch_token(
        token_url=meta["token_endpoint"], username="alice", password=PASSWORD,
        client_id="e2e-app", include_client_id=True,
    )  # fmt: skip
    response = client.post(meta["revocation_endpoint"], data={"token": fresh["access_token"]})
    assert (response.status_code, response.json()) == (200, {})
    assert client.get(f"{server.url}/account/me").json()["code"] == "token_revoked"
