"""Two instances on one PostgreSQL, each with its own data folder, behave as one service:
whatever ends a session or changes a user on one is honoured by the other within a second."""

import time

import httpx
import jwt
import pytest

from tests.e2e.cluster import create_admin, get, post, run_cli, within
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
REACH = 1.0  # seconds: the contract's bound for a change to reach every instance


@pytest.fixture(params=["postgres", "redis"])
def pair(request, pg_database, instances):  # type: ignore[no-untyped-def]
    """Instances A and B, their changes travelling through PostgreSQL or through Redis."""
    redis_url = None
    if request.param == "redis":
        redis_url = request.getfixturevalue("own_redis").url
    a = instances(pg_database, redis_url=redis_url)
    b = instances(pg_database, redis_url=redis_url)
    return a, b, pg_database


def sign_up_and_log_in(a, username="alice"):  # type: ignore[no-untyped-def]
    created = post(a, "/account/create-account", json={"username": username, "password": PASSWORD})
    assert created.status_code == 201, created.text
    response = post(a, "/account/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {tokens['access']}"}


def refused_on(server, headers, code="token_revoked"):  # type: ignore[no-untyped-def]
    def check() -> bool:
        response = get(server, "/account/me", headers=headers)
        assert response.status_code in (200, 401), response.text
        return response.status_code == 401 and response.json()["code"] == code

    return check


def test_a_log_out_on_a_is_honoured_by_b(pair):
    a, b, _ = pair
    tokens = sign_up_and_log_in(a)
    assert get(b, "/account/me", headers=bearer(tokens)).status_code == 200  # cached on B
    response = post(
        a, "/account/logout", headers=bearer(tokens), json={"refresh": tokens["refresh"]}
    )
    assert response.status_code == 200
    within(REACH, refused_on(b, bearer(tokens)))
    assert post(b, "/account/refresh", json={"refresh": tokens["refresh"]}).status_code == 401


def test_cookie_sessions_too(pair):
    a, b, _ = pair
    with httpx.Client(base_url=a.url) as browser:
        browser.post("/signup", json={"username": "carol", "password": PASSWORD})
        cookies = dict(browser.cookies)
        assert get(b, "/account/me", cookies=cookies).status_code == 200
        csrf = {"X-CSRF-Token": cookies["csrftoken"]}
        assert browser.post("/logout", headers=csrf).status_code == 200
    within(REACH, refused_on(b, {"Cookie": f"sessionid={cookies['sessionid']}"}))


def test_log_out_everywhere_and_a_password_change(pair):
    a, b, _ = pair
    first = sign_up_and_log_in(a)
    second = post(b, "/account/login", json={"username": "alice", "password": PASSWORD}).json()
    assert get(b, "/account/me", headers=bearer(first)).status_code == 200
    change = {"old_password": PASSWORD, "new_password": "another-horse-battery"}
    changed = post(b, "/account/change-password", headers=bearer(second), json=change)
    assert changed.status_code == 200
    within(REACH, refused_on(a, bearer(first)))  # the other session, ended on B
    within(REACH, refused_on(a, bearer(second)))  # B's own, replaced by a new one
    second = changed.json()
    assert get(a, "/account/me", headers=bearer(second)).status_code == 200
    assert post(a, "/account/logout-all", headers=bearer(second)).status_code == 200
    within(REACH, refused_on(b, bearer(second)))


def test_deactivation_demotion_and_deletion_by_an_admin(pair, tmp_path):
    a, b, database_url = pair
    create_admin(database_url, tmp_path / "admin-host", "root", PASSWORD)
    admin = post(a, "/account/login", json={"username": "root", "password": PASSWORD}).json()
    assert get(b, "/admin/users", headers=bearer(admin)).status_code == 200
    victim = sign_up_and_log_in(a, "dave")
    victim_id = get(a, "/account/me", headers=bearer(victim)).json()["id"]
    assert get(b, "/account/me", headers=bearer(victim)).status_code == 200
    response = httpx.patch(f"{a.url}/admin/users/{victim_id}", headers=bearer(admin),
                           json={"is_active": False}, timeout=10)  # fmt: skip
    assert response.status_code == 200
    within(REACH, refused_on(b, bearer(victim)))
    # Demotion: the admin's own token stops opening /admin on B.
    admin_id = get(a, "/account/me", headers=bearer(admin)).json()["id"]
    other = sign_up_and_log_in(a, "erin")
    promote = httpx.patch(f"{a.url}/admin/users/{admin_id}", headers=bearer(admin),
                          json={"is_admin": False}, timeout=10)  # fmt: skip
    assert promote.status_code == 200
    within(REACH, lambda: get(b, "/admin/users", headers=bearer(admin)).status_code == 403)
    # Deletion: the deleted user's token is refused on B as revoked.
    other_id = get(b, "/account/me", headers=bearer(other)).json()["id"]
    deleted = httpx.delete(f"{a.url}/account/delete-account/{other_id}", headers=bearer(other))
    assert deleted.status_code == 204
    within(REACH, refused_on(b, bearer(other)))


def test_a_refresh_replay_seen_on_b_ends_the_session_on_a(pair):
    a, b, _ = pair
    tokens = sign_up_and_log_in(a)
    assert get(a, "/account/me", headers=bearer(tokens)).status_code == 200
    rotated = post(a, "/account/refresh", json={"refresh": tokens["refresh"]})
    assert rotated.status_code == 200
    replay = post(b, "/account/refresh", json={"refresh": tokens["refresh"]})
    assert replay.json()["code"] == "token_reused"
    within(REACH, refused_on(a, bearer(tokens)))


def test_a_cors_origin_added_on_a_works_on_b(pair, tmp_path):
    a, b, database_url = pair
    create_admin(database_url, tmp_path / "admin-host", "root", PASSWORD)
    admin = post(a, "/account/login", json={"username": "root", "password": PASSWORD}).json()
    origin = "https://app.example"
    preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    assert httpx.options(f"{b.url}/account/login", headers=preflight).status_code == 400
    added = post(a, "/admin/cors/origins", headers=bearer(admin), json={"origin": origin})
    assert added.status_code == 201
    took = within(
        2.0, lambda: httpx.options(f"{b.url}/account/login", headers=preflight).status_code == 200
    )
    assert took < 2.0


def test_tokens_of_one_instance_are_accepted_by_the_other(pair):
    a, b, _ = pair
    tokens = sign_up_and_log_in(a)
    assert get(b, "/account/me", headers=bearer(tokens)).status_code == 200
    refreshed = post(b, "/account/refresh", json={"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200
    assert get(a, "/account/me", headers={"Authorization": f"Bearer {refreshed.json()['access']}"})


def test_each_reports_ready(pair):
    a, b, _ = pair
    for server in (a, b):
        deadline = time.monotonic() + 5
        while (
            response := get(server, "/ready")
        ).status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert response.status_code == 200, response.text


def test_keys_rotate_on_any_host_reaches_both(pg_database, instances, tmp_path):
    """EdDSA keys live in the database: a token of A verifies on B, and `authgate keys rotate`
    run anywhere makes both sign with the new key within 2 s."""
    env = {"AUTHGATE_JWT_ALGORITHM": "EdDSA"}
    a, b = instances(pg_database, env=env), instances(pg_database, env=env)
    tokens = sign_up_and_log_in(a)
    assert get(b, "/account/me", headers=bearer(tokens)).status_code == 200
    old = jwt.get_unverified_header(tokens["access"])["kid"]
    result = run_cli(pg_database, tmp_path / "operator", "keys", "rotate", env=env)
    new = result.stdout.split()[-1]
    assert new != old

    def both_sign_with_the_new_key() -> bool:
        kids = set()
        for server in (a, b):
            response = post(
                server, "/account/login", json={"username": "alice", "password": PASSWORD}
            )
            kids.add(jwt.get_unverified_header(response.json()["access"])["kid"])
        return kids == {new}

    assert within(2.0, both_sign_with_the_new_key, every=0.1) < 2.0
    assert get(b, "/account/me", headers=bearer(tokens)).status_code == 200  # old key verifies
