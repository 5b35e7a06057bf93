"""Cookie tossing: two different `sessionid` values authenticate nobody; `__Host-` names."""

import httpx
import pytest
from pydantic import ValidationError

from authgate import Settings
from tests.apps import running_app
from tests.cookies import set_cookies
from tests.helpers import PASSWORD, signup


async def _session(client: httpx.AsyncClient, name: str) -> tuple[str, str]:
    """Sign `name` up; their (sessionid, csrftoken), taken out of the client's jar."""
    await signup(client, name)
    secret, csrf = client.cookies["sessionid"], client.cookies["csrftoken"]
    client.cookies.clear()
    return secret, csrf


async def _me(client: httpx.AsyncClient, *cookie_headers: str) -> httpx.Response:
    return await client.get("/account/me", headers=[("cookie", h) for h in cookie_headers])


async def test_one_session_cookie_authenticates(client: httpx.AsyncClient) -> None:
    alice, _ = await _session(client, "alice")
    assert (await _me(client, f"sessionid={alice}")).status_code == 200
    # The same value twice is still one session.
    assert (await _me(client, f"sessionid={alice}; sessionid={alice}")).status_code == 200
    assert (await _me(client, f"theme=dark; sessionid={alice}; lang=ko")).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        ("sessionid={alice}; sessionid={mallory}",),
        ("sessionid={mallory}; sessionid={alice}",),
        ("sessionid={alice}; sessionid=planted",),
        ("sessionid={alice}", "sessionid={mallory}"),  # two Cookie header lines
        ("sessionid={alice};sessionid=",),
    ],
)
async def test_two_different_session_cookies_authenticate_nobody(
    client: httpx.AsyncClient, headers: tuple[str, ...]
) -> None:
    alice, _ = await _session(client, "alice")
    mallory, _ = await _session(client, "mallory")
    filled = [h.format(alice=alice, mallory=mallory) for h in headers]
    response = await _me(client, *filled)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "not_authenticated"


async def test_two_csrf_cookies_fail_the_csrf_check(client: httpx.AsyncClient) -> None:
    alice, csrf = await _session(client, "alice")
    cookie = f"sessionid={alice}; csrftoken={csrf}"
    headers = {"X-CSRF-Token": csrf}
    ok = await client.patch(
        "/account/me", json={"first_name": "A"}, headers={**headers, "cookie": cookie}
    )
    assert ok.status_code == 200, ok.text
    tossed = f"{cookie}; csrftoken=planted"
    response = await client.patch(
        "/account/me", json={"first_name": "B"}, headers={**headers, "cookie": tossed}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


async def test_logout_with_two_session_cookies_ends_neither(client: httpx.AsyncClient) -> None:
    alice, _ = await _session(client, "alice")
    mallory, _ = await _session(client, "mallory")
    response = await client.post(
        "/logout", headers={"cookie": f"sessionid={alice}; sessionid={mallory}"}
    )
    assert response.status_code == 200
    assert (await _me(client, f"sessionid={alice}")).status_code == 200
    assert (await _me(client, f"sessionid={mallory}")).status_code == 200


async def test_host_prefixed_cookies(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(rate_limit_enabled=False, cookie_host_prefix=True, cookie_secure=True)
    async with running_app(settings, base_url="https://testserver") as (_, client):
        response = await client.post("/signup", json={"username": "alice", "password": PASSWORD})
        assert response.status_code == 201
        cookies = set_cookies(response)
        assert set(cookies) == {"__Host-sessionid", "__Host-csrftoken"}
        for attributes in cookies.values():
            assert attributes["secure"] is True
            assert attributes["path"] == "/"
            assert "domain" not in attributes
        secret, csrf = cookies["__Host-sessionid"]["value"], cookies["__Host-csrftoken"]["value"]
        assert isinstance(secret, str) and isinstance(csrf, str)
        assert (await client.get("/account/me")).status_code == 200
        client.cookies.clear()
        assert (await _me(client, f"__Host-sessionid={secret}")).status_code == 200
        # Only the prefixed name counts: a plain `sessionid` could come from anywhere.
        assert (await _me(client, f"sessionid={secret}")).status_code == 401
        both = f"__Host-sessionid={secret}; __Host-sessionid=planted"
        assert (await _me(client, both)).status_code == 401
        cookie = f"__Host-sessionid={secret}; __Host-csrftoken={csrf}"
        response = await client.post("/logout", headers={"cookie": cookie, "X-CSRF-Token": csrf})
        assert response.status_code == 200, response.text
        assert (await _me(client, f"__Host-sessionid={secret}")).status_code == 401
        assert set(set_cookies(response)) == {"__Host-sessionid", "__Host-csrftoken"}


def test_host_prefix_needs_secure_and_no_domain(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="requires AUTHGATE_COOKIE_SECURE=true"):
        Settings(data_dir=tmp_path, cookie_host_prefix=True)
    with pytest.raises(ValidationError, match="cannot be combined with AUTHGATE_COOKIE_DOMAIN"):
        Settings(
            data_dir=tmp_path,
            cookie_host_prefix=True,
            cookie_secure=True,
            cookie_domain="example.com",
        )
    assert Settings(data_dir=tmp_path, cookie_host_prefix=True, cookie_secure=True)
