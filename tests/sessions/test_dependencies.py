"""Cookie sessions through HTTP: sliding renewal, expiry, CSRF and revocation across processes."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from authgate.changes import session_ended
from authgate.db import Database
from authgate.errors import NotFound
from authgate.hostfeed import HostFeed
from authgate.sessions import service
from authgate.sessions.dependencies import CurrentSession, CurrentUser
from authgate.sessions.models import LoginSession
from tests.cookies import set_cookies
from tests.helpers import csrf_headers, fetch, signup

AGE = 3600
ME = "/test/me"


@pytest.fixture(autouse=True)
def protected_route(app):
    """A route guarded the way an application embedding authgate would guard its own."""

    async def me(user: CurrentUser, principal: CurrentSession) -> dict:
        return {"username": user.username, "via": principal.via}

    app.add_api_route(ME, me, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])


async def the_session(app):  # type: ignore[no-untyped-def]
    (row,) = await fetch(app, select(LoginSession.__table__))
    return row


async def test_a_cookie_authenticates(client):
    await signup(client)
    response = await client.get(ME)
    assert response.status_code == 200
    assert response.json() == {"username": "alice", "via": "cookie"}


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [
        (None, "not_authenticated"),
        ("", "not_authenticated"),
        ("A" * 43, "token_revoked"),  # the shape of a session secret: a session that ended
        ("garbage", "token_invalid"),  # never one of ours
        ("x" * 5000, "token_invalid"),
        ("A" * 42 + "=", "token_invalid"),
    ],
)
async def test_no_or_unknown_cookie(client, cookie, expected):
    if cookie is not None:
        client.cookies.set("sessionid", cookie)
    response = await client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == expected


async def test_no_renewal_before_half_of_the_age(app, client, clock):
    await signup(client)
    created = await the_session(app)
    clock.advance(AGE / 2 - 1)
    response = await client.get(ME)
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert (await the_session(app)).expires_at == created.expires_at


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_past_half_of_the_age_both_cookies_are_renewed(app, client, clock, method):
    await signup(client)
    old_cookies = dict(client.cookies)
    clock.advance(AGE / 2 + 1)
    response = await client.request(method, ME, headers=csrf_headers(client))
    assert response.status_code == 200
    cookies = set_cookies(response)
    assert set(cookies) == {"sessionid", "csrftoken"}
    for cookie in cookies.values():
        assert cookie["max-age"] == str(AGE)
        assert cookie["path"] == "/"
    assert cookies["sessionid"]["httponly"] is True
    # The same session: renewal slides the expiry, it does not rotate the secret.
    assert cookies["sessionid"]["value"] == old_cookies["sessionid"]
    assert cookies["csrftoken"]["value"] == old_cookies["csrftoken"]
    session = await the_session(app)
    assert session.expires_at == clock.now + timedelta(seconds=AGE)
    assert session.last_seen_at == clock.now
    # Renewed once: the next request, moments later, does not set the cookies again.
    clock.advance(1)
    assert "set-cookie" not in (await client.get(ME)).headers


async def test_renewal_also_decorates_an_error_answer(app, client, clock):
    """The cookie is renewed by the activity, whatever the route answers."""

    async def missing(user: CurrentUser) -> None:
        raise NotFound()

    app.add_api_route("/test/missing", missing, methods=["GET"])
    await signup(client)
    clock.advance(AGE / 2 + 1)
    response = await client.get("/test/missing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert set(set_cookies(response)) == {"sessionid", "csrftoken"}


async def test_activity_keeps_a_session_alive_past_its_first_expiry(client, clock):
    await signup(client)
    for _ in range(4):
        clock.advance(AGE * 0.6)
        assert (await client.get(ME)).status_code == 200


async def test_past_expiry_without_activity_the_cookie_fails(client, clock):
    await signup(client)
    clock.advance(AGE + 1)
    for language, detail in [("en", "The token has expired."), ("ko", "토큰이 만료되었습니다.")]:
        response = await client.get(ME, headers={"Accept-Language": language})
        assert response.status_code == 401
        assert response.json() == {"detail": detail, "code": "token_expired"}


async def test_a_renewal_by_another_worker_is_seen(app, client, clock):
    """This process cached the old expiry; another worker slid it forward in the database."""
    await signup(client)
    assert (await client.get(ME)).status_code == 200  # cached here
    session = await the_session(app)
    clock.advance(AGE * 0.75)
    now = clock.now
    await app.state.db.write(lambda c: service.extend_session(c, session.id, now, AGE))
    clock.advance(AGE * 0.5)  # past the expiry this process cached, not the new one
    assert (await client.get(ME)).status_code == 200


async def test_a_session_ended_by_another_process_fails_at_once(app, client, settings, clock):
    await signup(client)
    assert (await client.get(ME)).status_code == 200  # now cached in this app
    session = await the_session(app)
    # Another process: its own database threads and its own view of the shared change feed.
    other_feed = HostFeed(settings.data_dir)
    other_db = Database(settings.effective_database_url, other_feed)
    table = LoginSession.__table__
    try:
        await other_db.write(
            lambda c: c.execute(
                update(table).where(table.c.id == session.id).values(ended_at=clock.now)
            )
        )
        # Until the feed names the session this app trusts its cache: that keeps it cheap.
        assert (await client.get(ME)).status_code == 200
        await other_feed.publish([session_ended(session.id)])
        response = await client.get(ME)
        assert response.status_code == 401
        assert response.json()["code"] == "token_revoked"
    finally:
        await other_db.dispose()
        other_feed.close()


async def test_end_session_from_another_process_through_the_service(app, client, settings, clock):
    await signup(client)
    assert (await client.get(ME)).status_code == 200
    session = await the_session(app)
    other_feed = HostFeed(settings.data_dir)
    other_db = Database(settings.effective_database_url, other_feed)
    now = clock.now
    try:
        assert await other_db.write(lambda c: service.end_sessions(c, [session.id], now))
    finally:
        await other_db.dispose()
        other_feed.close()
    assert (await client.get(ME)).json()["code"] == "token_revoked"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("token", [None, "", "wrong"])
async def test_unsafe_methods_need_the_csrf_header(client, method, token):
    await signup(client)
    headers = {} if token is None else {"X-CSRF-Token": token}
    response = await client.request(method, ME, headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert (await client.request(method, ME, headers=csrf_headers(client))).status_code == 200


async def test_a_csrf_cookie_planted_with_a_matching_header_is_refused(client):
    """Header == cookie is not enough: the token must belong to this session."""
    await signup(client)
    client.cookies.set("csrftoken", "planted")
    response = await client.post(ME, headers={"X-CSRF-Token": "planted"})
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


async def test_safe_methods_need_no_csrf_header(client):
    await signup(client)
    assert (await client.get(ME)).status_code == 200
