"""The seed's browser routes through HTTP: /signup, /login, /logout and /api/info."""

from datetime import datetime

import pytest
from sqlalchemy import select, update

from authgate.accounts.models import User
from authgate.changes import announce, user_changed
from tests.apps import running_app
from tests.cookies import set_cookies
from tests.helpers import PASSWORD, csrf_headers, fetch, signup

USER_FIELDS = {
    "id",
    "username",
    "email",
    "first_name",
    "last_name",
    "is_admin",
    "email_verified",
    "date_joined",
}
KO = {"Accept-Language": "ko"}
CREDENTIALS = {"username": "alice", "password": PASSWORD}


def multipart(fields: dict[str, str]) -> dict[str, tuple[None, str]]:
    """httpx `files=` entries that send plain multipart/form-data fields."""
    return {name: (None, value) for name, value in fields.items()}


def assert_user(user: dict, username: str) -> None:
    assert set(user) == USER_FIELDS
    assert user["username"] == username
    assert isinstance(user["id"], int)
    assert user["email"] is None
    assert user["first_name"] == user["last_name"] == ""
    assert user["is_admin"] is False
    assert user["email_verified"] is False
    assert datetime.fromisoformat(user["date_joined"]).tzinfo is not None


# --- /signup ------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["json", "form", "multipart"])
async def test_signup_creates_the_user_and_a_cookie_session(client, encoding):
    fields = {"username": "alice", "password": PASSWORD}
    body = {
        "json": {"json": fields},
        "form": {"data": fields},
        "multipart": {"files": multipart(fields)},
    }[encoding]
    response = await client.post("/signup", **body)
    assert response.status_code == 201, response.text
    data = response.json()
    assert set(data) == {"message", "status", "user"}
    assert data["message"] == "alice, your account has been created."
    assert data["status"] == "success"
    assert_user(data["user"], "alice")
    assert response.headers["content-language"] == "en-US"
    assert set(set_cookies(response)) == {"sessionid", "csrftoken"}
    # The cookies log the browser in.
    assert (await client.post("/logout", headers=csrf_headers(client))).status_code == 200


async def test_signup_message_in_korean(client):
    response = await client.post(
        "/signup", json={"username": "민수", "password": PASSWORD}, headers=KO
    )
    assert response.status_code == 201
    assert response.json()["message"] == "민수님, 회원가입이 완료되었습니다."
    assert response.json()["status"] == "success"
    assert response.headers["content-language"] == "ko-KR"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"username=alice&password=correct-horse-battery"),
        ("application/xml", b"<user><username>alice</username></user>"),
        ("application/octet-stream", b"\x00\x01"),
        (None, b""),
    ],
)
@pytest.mark.parametrize(
    ("language", "detail"),
    [
        ("en", "Unsupported content type: send JSON, form or multipart data."),
        ("ko", "지원하지 않는 콘텐츠 형식입니다. JSON, 폼 또는 multipart 데이터를 보내 주세요."),
    ],
)
async def test_signup_other_body_types_get_415(client, content_type, body, language, detail):
    headers = {"Accept-Language": language}
    if content_type:
        headers["Content-Type"] = content_type
    response = await client.post("/signup", content=body, headers=headers)
    assert response.status_code == 415
    assert response.json() == {"detail": detail, "code": "unsupported_media_type"}
    assert "set-cookie" not in response.headers


async def test_no_password_or_hash_in_any_response(client):
    secret = "a-Very-Distinct-Passw0rd"
    responses = [
        await client.post("/signup", json={"username": "alice", "password": secret}),
        await client.post("/login", json={"username": "alice", "password": secret}),
        await client.post("/login", json={"username": "alice", "password": secret + "x"}),
        await client.post("/signup", json={"username": "bob", "password": "short"}),
        await client.post("/signup", json={"username": "b b", "password": secret}),
        await client.post("/signup", json={"username": "bob", "password": ["x" * 5000]}),
        await client.post("/signup", json={"username": "bob", "password": "y" * 5000}),
        await client.post("/login", data={"username": "", "password": secret}),
    ]
    for response in responses:
        assert response.status_code < 500
        for forbidden in (secret, "short", "y" * 100, "$argon2", "password_hash"):
            assert forbidden not in response.text


# --- names, e-mails and passwords ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "detail"),
    [("en", "A user with that username already exists."), ("ko", "이미 존재하는 사용자입니다.")],
)
@pytest.mark.parametrize("again", ["Alice", "alice", "ALICE", "ａｌｉｃｅ"])
async def test_a_taken_name_in_any_case_or_width_is_refused(
    client, new_client, again, language, detail
):
    await signup(client, "Alice")
    response = await new_client().post(
        "/signup",
        json={"username": again, "password": PASSWORD},
        headers={"Accept-Language": language},
    )
    assert response.status_code == 400
    assert response.json() == {"detail": detail, "code": "username_taken"}
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("typed", ["Alice", "alice", "ALICE", "ａｌｉｃｅ", "ＡＬＩＣＥ"])
async def test_log_in_ignores_case_and_width_and_returns_the_name_as_typed(
    client, new_client, typed
):
    await signup(client, "Alice")
    response = await new_client().post("/login", json={"username": typed, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["user"]["username"] == "Alice"


@pytest.mark.parametrize(
    "username",
    ["", "a" * 151, "al ice", " alice", "al/ice", "alice!", "ali\tce", "alice\n", "<alice>"],
)
async def test_invalid_usernames_get_fastapis_422(client, username):
    response = await client.post("/signup", json={"username": username, "password": PASSWORD})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert isinstance(body["detail"], list) and body["detail"]
    for problem in body["detail"]:
        assert {"type", "loc", "msg"} <= set(problem)
    assert body["detail"][0]["loc"] == ["body", "username"]


@pytest.mark.parametrize("username", ["a" * 150, "a.b@c+d-e_f", "민수", "ａｌｉｃｅ", "7"])
async def test_valid_usernames(client, username):
    user = await signup(client, username)
    assert user["username"] == username


@pytest.mark.parametrize("encoding", ["json", "form"])
async def test_a_missing_field_is_a_422(client, encoding):
    kwargs = {encoding: {"username": "alice"}} if encoding == "json" else {"data": {"u": "x"}}
    response = await client.post("/signup", **kwargs)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert isinstance(response.json()["detail"], list)


@pytest.mark.parametrize(
    ("password", "en", "ko"),
    [
        (
            "Sh0rt!",
            "The password must be at least 8 characters long.",
            "비밀번호는 8자 이상이어야 합니다.",
        ),
        ("password123", "This password is too common.", "너무 흔한 비밀번호입니다."),
        ("qwertyuiop", "This password is too common.", "너무 흔한 비밀번호입니다."),
        (
            "AliceSmith",
            "The password must not be the username.",
            "비밀번호는 사용자 이름과 같을 수 없습니다.",
        ),
        (
            "x" * 1025,
            "The password must be at most 1024 characters long.",
            "비밀번호는 1024자 이하여야 합니다.",
        ),
    ],
)
async def test_password_policy_in_both_languages(client, password, en, ko):
    body = {"username": "alicesmith", "password": password}
    english = await client.post("/signup", json=body)
    korean = await client.post("/signup", json=body, headers=KO)
    assert english.status_code == korean.status_code == 422
    assert english.json() == {"detail": en, "code": "password_policy"}
    assert korean.json() == {"detail": ko, "code": "password_policy"}


async def test_password_of_exactly_the_limits_is_accepted(client, new_client):
    await signup(client, "alice", "k" * 7 + "!")
    await signup(new_client(), "bob", "Zq9" * 341 + "x")  # 1024 characters


async def test_the_minimum_length_is_a_setting(make_settings, clock):
    settings = make_settings(password_min_length=12, rate_limit_enabled=False)
    async with running_app(settings, clock) as (_, client):
        response = await client.post("/signup", json={"username": "al", "password": "Elevench4rs"})
        assert response.json() == {
            "detail": "The password must be at least 12 characters long.",
            "code": "password_policy",
        }
        await signup(client, "al", "Twelve-chars")


async def test_email_is_optional_validated_and_unique_without_case(client, new_client):
    user = await signup(client, "alice", email="Alice@Example.com")
    assert user["email"] == "Alice@example.com"  # the domain part is normalised
    assert (await signup(new_client(), "carol"))["email"] is None
    bad = await new_client().post(
        "/signup", json={"username": "bob", "password": PASSWORD, "email": "not-an-email"}
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "validation_error"
    assert bad.json()["detail"][0]["loc"] == ["body", "email"]
    for language, detail in [
        ("en", "A user with that e-mail address already exists."),
        ("ko", "이미 사용 중인 이메일 주소입니다."),
    ]:
        taken = await new_client().post(
            "/signup",
            json={"username": "bob", "password": PASSWORD, "email": "ALICE@example.COM"},
            headers={"Accept-Language": language},
        )
        assert taken.status_code == 400
        assert taken.json() == {"detail": detail, "code": "email_taken"}


async def test_a_blank_email_in_a_form_counts_as_none(client):
    response = await client.post(
        "/signup", data={"username": "alice", "password": PASSWORD, "email": ""}
    )
    assert response.status_code == 201
    assert response.json()["user"]["email"] is None


# --- /login -------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["json", "data", "files"])
async def test_login_with_json_form_or_multipart(client, new_client, encoding):
    await signup(client)
    body = multipart(CREDENTIALS) if encoding == "files" else CREDENTIALS
    browser = new_client()
    response = await browser.post("/login", **{encoding: body})
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"message", "user"}
    assert response.json()["message"] == "Login successful"
    assert_user(response.json()["user"], "alice")
    assert set(set_cookies(response)) == {"sessionid", "csrftoken"}
    # A new log-in is a new session: the first browser's cookie is not reused.
    assert browser.cookies["sessionid"] != client.cookies["sessionid"]


async def test_login_message_in_korean(client, new_client):
    await signup(client)
    response = await new_client().post("/login", json=CREDENTIALS, headers=KO)
    assert response.json()["message"] == "로그인 성공"
    assert response.headers["content-language"] == "ko-KR"


async def deactivate(app, username: str) -> None:
    def work(connection) -> None:  # type: ignore[no-untyped-def]
        user_id = connection.execute(
            update(User).where(User.username == username).values(is_active=False).returning(User.id)
        ).scalar_one()
        announce(connection, user_changed(user_id))

    await app.state.db.write(work)


@pytest.mark.parametrize(
    ("language", "detail"),
    [
        ("en", "The username or password is incorrect."),
        ("ko", "아이디 또는 비밀번호가 올바르지 않습니다."),
    ],
)
async def test_wrong_password_unknown_user_and_deactivated_look_the_same(
    app, client, new_client, language, detail
):
    await signup(client, "alice")
    await signup(new_client(), "dave")
    await deactivate(app, "dave")
    headers = {"Accept-Language": language}
    attempts = [
        {"username": "alice", "password": PASSWORD + "!"},
        {"username": "nobody", "password": PASSWORD},
        {"username": "dave", "password": PASSWORD},
    ]
    responses = [await new_client().post("/login", json=a, headers=headers) for a in attempts]
    for response in responses:
        assert response.status_code == 401
        assert response.json() == {"detail": detail, "code": "invalid_credentials"}
        assert "set-cookie" not in response.headers
    assert len({r.content for r in responses}) == 1
    assert len({tuple(sorted(r.headers.keys())) for r in responses}) == 1


async def test_login_stores_no_second_user_and_no_password(app, client, new_client):
    await signup(client)
    await new_client().post("/login", data=CREDENTIALS)
    users = await fetch(app, select(User.__table__))
    assert len(users) == 1
    assert users[0].password_hash.startswith("$argon2id$")
    assert PASSWORD not in users[0].password_hash


# --- /logout ------------------------------------------------------------------------------------


async def test_logout_ends_the_session_and_clears_both_cookies(client, new_client):
    await signup(client)
    old = dict(client.cookies)
    response = await client.post("/logout", headers=csrf_headers(client))
    assert response.status_code == 200
    assert response.json() == {"message": "Logout successful"}
    cleared = set_cookies(response)
    assert set(cleared) == {"sessionid", "csrftoken"}
    for cookie in cleared.values():
        assert cookie["value"] == ""
        assert cookie["max-age"] == "0"
        assert cookie["path"] == "/"
    assert "sessionid" not in client.cookies
    # The old cookie, replayed by someone who kept it, fails on a protected route at once.
    replay = new_client()
    for name, value in old.items():
        replay.cookies.set(name, value)
    response = await replay.put(
        "/items/x?name=a&size=1", headers={"X-CSRF-Token": old["csrftoken"]}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"


async def test_logout_is_idempotent(client):
    await signup(client)
    headers = csrf_headers(client)
    assert (await client.post("/logout", headers=headers)).status_code == 200
    again = await client.post("/logout", headers=headers)
    assert again.status_code == 200
    assert again.json() == {"message": "Logout successful"}
    never = await client.post("/logout", headers=KO)
    assert never.status_code == 200
    assert never.json() == {"message": "로그아웃 성공"}


async def test_logout_with_an_ended_sessions_cookie_needs_no_csrf(client, new_client):
    await signup(client)
    old = dict(client.cookies)
    await client.post("/logout", headers=csrf_headers(client))
    stale = new_client()
    stale.cookies.set("sessionid", old["sessionid"])
    response = await stale.post("/logout")
    assert response.status_code == 200
    assert set(set_cookies(response)) == {"sessionid", "csrftoken"}


@pytest.mark.parametrize("token", [None, "wrong", ""])
async def test_logout_of_a_live_session_needs_the_csrf_header(client, token):
    await signup(client)
    headers = {} if token is None else {"X-CSRF-Token": token}
    response = await client.post("/logout", headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    korean = await client.post("/logout", headers={**headers, **KO})
    assert korean.json()["detail"].startswith("CSRF 검증에 실패했습니다")
    # Still logged in: the refused log-out changed nothing.
    assert (await client.post("/logout", headers=csrf_headers(client))).status_code == 200


async def test_another_sessions_csrf_token_does_not_log_out(client, new_client):
    await signup(client)
    other = new_client()
    await other.post("/login", json=CREDENTIALS)
    response = await client.post("/logout", headers=csrf_headers(other))
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


# --- /api/info ----------------------------------------------------------------------------------


async def test_api_info(client):
    response = await client.get("/api/info")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"service", "description", "status", "version"}
    assert body["service"] == "authgate"
    assert body["status"] == "operational"
    assert body["version"] == response.headers["x-api-version"]
    assert body["description"]
    assert response.headers["cache-control"] == "no-store"
    korean = (await client.get("/api/info", headers=KO)).json()
    assert korean["description"] != body["description"]
    assert korean["status"] == "operational"


async def test_names_whose_normal_form_is_not_a_name_are_refused(client):
    # U+FDFA is a letter, but NFKC turns it into a phrase with spaces: not comparable.
    response = await client.post("/signup", json={"username": "\ufdfa" * 3, "password": PASSWORD})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


async def test_login_with_an_impossible_name_is_just_invalid(client):
    await signup(client, "alice")
    for name in ("a\u0000b", "\ufdfa", "x" * 600):
        response = await client.post("/login", json={"username": name, "password": PASSWORD})
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"
