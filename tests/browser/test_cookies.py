"""The `sessionid` and `csrftoken` cookies and their attributes, over HTTP and HTTPS."""

import pytest

from tests.apps import running_app
from tests.cookies import set_cookies
from tests.helpers import PASSWORD, signup

SIGNUP = {"username": "alice", "password": PASSWORD}
PROXY = "10.0.0.7"


def assert_session_cookies(response, *, secure: bool, samesite: str = "lax") -> None:
    cookies = set_cookies(response)
    assert set(cookies) == {"sessionid", "csrftoken"}
    session, csrf = cookies["sessionid"], cookies["csrftoken"]
    for cookie in (session, csrf):
        assert len(str(cookie["value"])) >= 40  # 256 random bits, encoded
        assert str(cookie["samesite"]).lower() == samesite
        assert cookie["path"] == "/"
        assert cookie["max-age"] == "3600"
        assert ("secure" in cookie) is secure
        assert "domain" not in cookie
    assert session["httponly"] is True
    # Readable by scripts, so that a SPA can copy it into X-CSRF-Token.
    assert "httponly" not in csrf
    assert session["value"] != csrf["value"]


@pytest.mark.parametrize("route", ["/signup", "/login"])
async def test_cookie_attributes_over_plain_http(client, route):
    if route == "/login":
        await signup(client)
    response = await client.post(route, json=SIGNUP)
    assert response.status_code in (200, 201)
    assert_session_cookies(response, secure=False)


async def test_secure_when_the_setting_says_so(make_settings):
    settings = make_settings(cookie_secure=True, rate_limit_enabled=False)
    async with running_app(settings) as (_, client):
        response = await client.post("/signup", json=SIGNUP)
        assert_session_cookies(response, secure=True)


async def test_samesite_none_for_cross_site_front_ends(make_settings):
    settings = make_settings(cookie_secure=True, cookie_samesite="none", rate_limit_enabled=False)
    async with running_app(settings) as (_, client):
        response = await client.post("/signup", json=SIGNUP)
        assert_session_cookies(response, secure=True, samesite="none")


async def test_secure_over_https(make_settings):
    settings = make_settings(rate_limit_enabled=False)
    async with running_app(settings, base_url="https://testserver") as (_, client):
        response = await client.post("/signup", json=SIGNUP)
        assert_session_cookies(response, secure=True)


@pytest.mark.parametrize(
    ("trusted", "peer", "secure"),
    [
        ([PROXY], PROXY, True),
        (["10.0.0.0/8"], PROXY, True),
        ([PROXY], "203.0.113.5", False),  # an untrusted peer cannot claim HTTPS
        ([], PROXY, False),
    ],
)
async def test_x_forwarded_proto_counts_only_from_a_trusted_proxy(
    make_settings, trusted, peer, secure
):
    settings = make_settings(trusted_proxies=trusted, rate_limit_enabled=False)
    async with running_app(settings, peer=(peer, 40000)) as (_, client):
        response = await client.post("/signup", json=SIGNUP, headers={"X-Forwarded-Proto": "https"})
        assert_session_cookies(response, secure=secure)
        # Clearing the cookies must match how they were set, or browsers keep them.
        logout = await client.post(
            "/logout",
            headers={"X-Forwarded-Proto": "https", "X-CSRF-Token": response.cookies["csrftoken"]},
        )
        assert logout.status_code == 200
        cleared = set_cookies(logout)
        assert set(cleared) == {"sessionid", "csrftoken"}
        assert all(("secure" in c) is secure for c in cleared.values())


async def test_x_forwarded_proto_http_from_a_trusted_proxy_is_not_secure(make_settings):
    settings = make_settings(trusted_proxies=[PROXY], rate_limit_enabled=False)
    async with running_app(settings, peer=(PROXY, 40000)) as (_, client):
        response = await client.post("/signup", json=SIGNUP, headers={"X-Forwarded-Proto": "http"})
        assert_session_cookies(response, secure=False)
