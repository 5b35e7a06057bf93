"""CORS where it is enforced: Debian's Chromium, a served authgate, a front end on another origin.

Two served instances: `lax` (the default cookies, `--workers 2`, so run-time origins are
shown to reach every process) and `none` (`SameSite=None; Secure`, for a front end on
another site). The front end (`front/`) is served from other ports of 127.0.0.1, and as
`localhost` for the cross-site cases: 127.0.0.1 and localhost are different sites.
"""

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastapi_offline
import pytest

from tests.e2e.cors_rig import (
    ADMIN,
    CHROMIUM,
    CHROMIUM_ARGS,
    Served,
    admin_client,
    require_chromium,
    served,
    static_site,
)
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
RUN_TIME_DEADLINE = 2.0  # seconds: the contract's bound for every instance
ME = "/account/me"


@pytest.fixture(scope="module")
def fronts() -> Iterator[tuple[int, int]]:
    """Two front-end ports: A (listed in the API's settings) and B (not listed)."""
    with static_site() as a, static_site() as b:
        yield a, b


@pytest.fixture(scope="module")
def lax_server(
    tmp_path_factory: pytest.TempPathFactory, fronts: tuple[int, int]
) -> Iterator[Served]:
    require_chromium()
    a, _ = fronts
    origins = f"http://127.0.0.1:{a}, http://localhost:{a}"
    with served(tmp_path_factory.mktemp("lax"), "--workers", "2", cors_origins=origins) as server:
        yield server


@pytest.fixture(scope="module")
def lax_api(lax_server: Served) -> str:
    return lax_server.base


@pytest.fixture(scope="module")
def none_api(tmp_path_factory: pytest.TempPathFactory, fronts: tuple[int, int]) -> Iterator[str]:
    require_chromium()
    a, _ = fronts
    with served(
        tmp_path_factory.mktemp("none"),
        cors_origins=f"http://localhost:{a}",
        cookie_samesite="none",
        cookie_secure="true",
    ) as server:
        yield server.base


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def chromium(driver: Any) -> Iterator[Any]:
    browser = driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def third_party_profile(driver: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A browser profile that accepts third-party cookies, as Chrome's default profile does.

    Playwright's contexts are incognito-like, where Chromium blocks every third-party cookie
    whatever its SameSite: the cross-site tests must fail for SameSite's sake, not that one.
    """
    profile = tmp_path_factory.mktemp("chromium-profile")
    (profile / "Default").mkdir()
    preferences = {"profile": {"cookie_controls_mode": 0, "block_third_party_cookies": False}}
    (profile / "Default" / "Preferences").write_text(json.dumps(preferences))
    context = driver.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield context
    context.close()


@pytest.fixture
def open_front(chromium: Any) -> Iterator[Any]:
    """open_front(url, api) -> a page of the front end at `url`, its client aimed at `api`."""
    contexts = []

    def open_page(url: str, api: str) -> Any:
        context = chromium.new_context()
        contexts.append(context)
        return _front_page(context.new_page(), url, api)

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def open_cross_site(third_party_profile: Any) -> Iterator[Any]:
    """Like open_front, in the third-party-cookie profile; also returns the cookie refusals.

    The refusals are the browser's own reasons for not storing a cookie (Chrome DevTools
    Protocol `Network.responseReceivedExtraInfo`), e.g. `SameSiteLax`.
    """
    pages = []

    def open_page(url: str, api: str) -> tuple[Any, list[str]]:
        page = third_party_profile.new_page()
        pages.append(page)
        refusals: list[str] = []
        cdp = third_party_profile.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on(
            "Network.responseReceivedExtraInfo",
            lambda event: refusals.extend(
                reason for c in event.get("blockedCookies", ()) for reason in c["blockedReasons"]
            ),
        )
        return _front_page(page, url, api), refusals

    yield open_page
    for page in pages:
        page.close()
    third_party_profile.clear_cookies()


def _front_page(page: Any, url: str, api: str) -> Any:
    page.goto(url)
    page.evaluate("api => { window.client = new AuthgateClient(api); }", api)
    return page


def call(page: Any, script: str, *args: Any) -> dict[str, Any]:
    """Run `client.<script>` in the page; args are available as a[0], a[1]..."""
    return page.evaluate(f"async a => await client.{script}", list(args))


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def test_allowed_origin_signs_up_logs_in_and_writes_with_csrf(
    open_front: Any, fronts: tuple[int, int], lax_api: str
) -> None:
    page = open_front(f"http://127.0.0.1:{fronts[0]}/", lax_api)
    name = unique("spa")
    signed = call(page, "signup(a[0], a[1])", name, PASSWORD)
    assert signed["status"] == 201, signed
    assert signed["headers"]["x-csrf-token"]
    logged = call(page, "login(a[0], a[1])", name, PASSWORD)
    assert logged["status"] == 200, logged
    assert logged["body"]["user"]["username"] == name
    cookies = {c["name"]: c for c in page.context.cookies(lax_api)}
    assert cookies["sessionid"]["httpOnly"] and cookies["sessionid"]["sameSite"] == "Lax"

    written = call(page, "putItem(a[0], 'Fighters', 6, {requestId: 'spa-req-1'})", name)
    assert written["status"] == 201, written  # the session cookie was sent, CSRF header too
    assert written["body"]["item"]["owner"] == name
    headers = written["headers"]
    assert headers["x-request-id"] == "spa-req-1"
    assert float(headers["x-process-time"]) >= 0
    assert headers["x-api-version"]
    assert headers["etag"] and headers["location"] == f"/items/{name}"


def test_without_the_csrf_header_the_write_is_refused(
    open_front: Any, fronts: tuple[int, int], lax_api: str
) -> None:
    page = open_front(f"http://127.0.0.1:{fronts[0]}/", lax_api)
    name = unique("nocsrf")
    assert call(page, "signup(a[0], a[1])", name, PASSWORD)["status"] == 201
    refused = call(page, "putItem(a[0], 'x', 1, {csrf: false})", name)
    assert refused["status"] == 403, refused
    assert refused["body"]["code"] == "csrf_failed"
    assert refused["headers"]["x-request-id"]  # errors are readable by the allowed page


def test_disallowed_origin_fetch_fails_in_the_browser(
    open_front: Any, fronts: tuple[int, int], lax_api: str
) -> None:
    page = open_front(f"http://127.0.0.1:{fronts[1]}/", lax_api)
    name = unique("evil")
    result = call(page, "info()")
    assert result == {"reached": False, "error": "TypeError: Failed to fetch"}
    # The preflight of a JSON write is refused, so the request itself is never sent.
    assert call(page, "signup(a[0], a[1])", name, PASSWORD)["reached"] is False
    with admin_client(lax_api) as admin:
        users = admin.get("/admin/users", params={"q": name}).json()["users"]
    assert users == []


def test_origin_added_at_run_time_works_within_2_seconds_and_stops_after_removal(
    open_front: Any, fronts: tuple[int, int], lax_server: Served
) -> None:
    """Added through the admin API, removed with `authgate cors remove`, both while serving."""
    origin = f"http://127.0.0.1:{fronts[1]}"
    page = open_front(f"{origin}/", lax_server.base)
    assert call(page, "info()")["reached"] is False
    with admin_client(lax_server.base) as admin:
        assert admin.post("/admin/cors/origins", json={"origin": origin}).status_code == 201
    added = time.monotonic()
    try:
        first_seen = until(page, added, reached=True)
        name = unique("late")
        assert call(page, "signup(a[0], a[1])", name, PASSWORD)["status"] == 201
        assert call(page, "putItem(a[0], 'x', 1)", name)["status"] == 201
    finally:
        removed = lax_server.command("cors", "remove", origin)
    assert removed.returncode == 0, removed.stderr
    first_refused = until(page, time.monotonic(), reached=False)
    print(
        f"run-time origin: first honoured after {first_seen:.2f} s, removal {first_refused:.2f} s"
    )


def until(page: Any, changed_at: float, *, reached: bool) -> float:
    """Seconds from `changed_at` until the page's fetches first succeed (or fail).

    Then, once the contract's 2 s have passed, every fetch must agree: the two worker
    processes each had to notice the change (the first success may come from just one).
    """
    while True:
        elapsed = time.monotonic() - changed_at
        if all(r["reached"] is reached for r in fetch_round(page)):
            break
        assert elapsed < RUN_TIME_DEADLINE, f"not honoured after {elapsed:.2f} s"
        page.wait_for_timeout(50)
    page.wait_for_timeout(max(0.0, changed_at + RUN_TIME_DEADLINE - time.monotonic()) * 1000)
    for _ in range(3):
        results = fetch_round(page)
        assert all(r["reached"] is reached for r in results), results
    return elapsed


def fetch_round(page: Any) -> list[dict[str, Any]]:
    """Eight concurrent fetches: the browser spreads them over several connections."""
    return page.evaluate("async () => Promise.all([...Array(8)].map(() => client.info()))")


def test_cross_site_works_with_samesite_none_and_secure(
    open_cross_site: Any, fronts: tuple[int, int], none_api: str
) -> None:
    page, refusals = open_cross_site(f"http://localhost:{fronts[0]}/", none_api)
    name = unique("xsite")
    assert call(page, "signup(a[0], a[1])", name, PASSWORD)["status"] == 201
    assert refusals == []
    cookies = {c["name"]: c for c in page.context.cookies(none_api)}
    assert cookies["sessionid"]["sameSite"] == "None" and cookies["sessionid"]["secure"]
    written = call(page, "putItem(a[0], 'x', 1)", name)
    assert written["status"] == 201, written


def test_cross_site_fails_with_samesite_lax(
    open_cross_site: Any, fronts: tuple[int, int], lax_api: str
) -> None:
    page, refusals = open_cross_site(f"http://localhost:{fronts[0]}/", lax_api)
    name = unique("laxsite")
    signed = call(page, "signup(a[0], a[1])", name, PASSWORD)
    assert signed["status"] == 201  # CORS allows the origin...
    # ...but the browser keeps no SameSite=Lax cookie from a cross-site request.
    assert len(refusals) == 2 and all(r.endswith("SameSiteLax") for r in refusals), refusals
    assert page.context.cookies(lax_api) == []
    written = call(page, "putItem(a[0], 'x', 1)", name)
    assert written["status"] == 401, written
    assert written["body"]["code"] == "not_authenticated"


def test_docs_authorize_logs_in_through_the_token_route_and_calls_me(
    chromium: Any, lax_server: Served
) -> None:
    """Swagger UI at /docs: Authorize (OAuth2 password grant), then GET /account/me."""
    context = chromium.new_context()
    try:
        page = context.new_page()
        serve_swagger_ui_locally(page)
        page.goto(f"{lax_server.base}/docs")
        page.locator("button.authorize").first.click()
        page.fill("#oauth_username", ADMIN)
        page.fill("#oauth_password", PASSWORD)
        with page.expect_response(lambda r: r.url.endswith("/account/token")) as token:
            page.locator(".auth-btn-wrapper button.authorize").click()
        assert token.value.status == 200
        assert set(token.value.json()) >= {"access_token", "refresh_token", "token_type"}
        page.locator(".auth-btn-wrapper button.btn-done").click()

        me = page.locator(".opblock-get", has=page.locator(".opblock-summary-path", has_text=ME))
        me.first.locator(".opblock-summary").click()
        me.first.locator("button.try-out__btn").click()
        with page.expect_response(lambda r: r.url.endswith(ME)) as answer:
            me.first.locator("button.execute").click()
        assert answer.value.status == 200
        assert answer.value.request.headers["authorization"].startswith("Bearer ")
        assert answer.value.json()["username"] == ADMIN
        status = me.first.locator(".live-responses-table tr.response .response-col_status").first
        assert status.inner_text().strip() == "200"
    finally:
        context.close()


def serve_swagger_ui_locally(page: Any) -> None:
    """Answer /docs' requests for Swagger UI's files (a CDN) from a local copy of them.

    This machine reaches no CDN; a user's browser would. The page, its OpenAPI document and
    every call it makes are the served authgate's own.
    """
    static = Path(fastapi_offline.__file__).parent / "static"

    def fulfil(route: Any) -> None:
        name = route.request.url.rsplit("/", 1)[-1]
        files = {"swagger-ui-bundle.js": "swagger-ui-bundle.js", "swagger-ui.css": "swagger-ui.css"}
        if name in files:
            route.fulfill(path=str(static / files[name]))
        else:
            route.fulfill(path=str(static / "favicon.png"))

    page.route("https://cdn.jsdelivr.net/**", fulfil)
    page.route("https://fastapi.tiangolo.com/**", fulfil)
