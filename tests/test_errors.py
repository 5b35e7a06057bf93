"""The error envelope, and malformed requests of every kind: always a 4xx, never a 5xx."""

import json

import pytest

from tests.helpers import PASSWORD, signup

KO = {"Accept-Language": "ko"}
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data; boundary=xyz"


@pytest.mark.parametrize(
    ("headers", "detail"),
    [({}, "Not found."), (KO, "찾을 수 없습니다.")],
    ids=["en", "ko"],
)
@pytest.mark.parametrize("path", ["/nope", "/signup/extra", "/api", "/%00", "/" + "a" * 5000])
async def test_an_unknown_route_is_404(client, headers, detail, path):
    response = await client.get(path, headers=headers)
    assert response.status_code == 404
    assert response.json() == {"detail": detail, "code": "not_found"}


@pytest.mark.parametrize(
    ("headers", "detail"),
    [({}, "Method not allowed."), (KO, "허용되지 않는 메서드입니다.")],
    ids=["en", "ko"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/signup"), ("DELETE", "/login"), ("PUT", "/logout"), ("POST", "/api/info")],
)
async def test_a_wrong_method_is_405_with_a_code_and_allow(client, headers, detail, method, path):
    response = await client.request(method, path, headers=headers)
    assert response.status_code == 405
    assert response.json() == {"detail": detail, "code": "method_not_allowed"}
    assert response.headers["allow"]


@pytest.mark.parametrize("headers", [{}, KO], ids=["en", "ko"])
async def test_malformed_json_is_fastapis_422_with_a_code(client, headers):
    response = await client.post(
        "/signup", content=b'{"username": ', headers={"Content-Type": JSON, **headers}
    )
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == "validation_error"
    assert isinstance(body["detail"], list)
    assert body["detail"][0]["type"] == "json_invalid"
    assert body["detail"][0]["loc"] == ["body"]


async def test_a_422_lists_every_problem(client):
    response = await client.post("/signup", json={"username": "a b", "email": "nope"})
    assert response.status_code == 422
    locations = {tuple(p["loc"]) for p in response.json()["detail"]}
    assert locations == {("body", "username"), ("body", "password"), ("body", "email")}


def deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


MALFORMED_JSON = [
    b"",
    b"null",
    b"true",
    b'"alice"',
    b"[]",
    b"{}",
    b"12",
    b'{"username": null, "password": null}',
    b'{"username": {"$gt": ""}, "password": {"$gt": ""}}',
    b'{"username": ["alice"], "password": ["x"]}',
    b'{"username": "a\\u0000b", "password": "p\\u0000ssw0rd-long"}',
    b'{"username": "alice", "password": "' + b"\\u0000" * 8 + b'"}',
    b'{"username": 1e999999, "password": 1}',
    b'{"username": -1e999999, "password": -0}',
    b'{"username": ' + b"9" * 5000 + b', "password": "x"}',
    b'{"username": 12345678901234567890, "password": 1.5}',
    b'{"username": NaN, "password": Infinity}',
    b'{"username": "alice", "password": -Infinity}',
    b'{"username": "\\ud800", "password": "\\udfff-abcdefgh"}',
    b'{"username": "alice", "password": "\\ud83d-abcdefgh", "email": "\\ud800@x.org"}',
    b'{"username": "alice", "password": "x", "first_name": "\\ud800"}',
    b'{"username": "alice", "password": "x", "last_name": "\\u0007"}',
    b'{"username": "\xc3\x28", "password": "x"}',
    b"\xff\xfe\x00\x00garbage",
    b"\xef\xbb\xbf" + b'{"username": "bom", "password": "correct-horse-battery"}',
    json.dumps({"username": "utf16", "password": PASSWORD}).encode("utf-16"),
    deep(100_000),
    b'{"a":' * 100_000,
    deep(900),
    b'{"username": ' + deep(900) + b', "password": "x"}',
    b'{"username": "' + b"a" * 100_000 + b'", "password": "x"}',
    b'{"username": "alice", "password": "' + b"p" * 100_000 + b'"}',
    b'{"username": "alice", "username": "bob", "password": "x"}',
    b"{'username': 'alice'}",
    b'{"username": "\' OR 1=1 --", "password": "\' OR 1=1 --"}',
]


@pytest.mark.parametrize("route", ["/signup", "/login"])
@pytest.mark.parametrize("body", MALFORMED_JSON, ids=range(len(MALFORMED_JSON)))
async def test_malformed_json_never_gets_a_5xx(client, route, body):
    await assert_4xx_or_success(client, route, body, JSON)


MALFORMED_FORMS = [
    (FORM, b"username=%00&password=%00"),
    (FORM, b"%%%%"),
    (FORM, b"=&=&&&"),
    (FORM, b"username=%zz&password=%"),
    (FORM, b"username=\xff\xfe&password=\x80\x81\x82\x83\x84\x85\x86\x87"),
    (FORM, b"username=%ff%fe&password=%c3%28abcdefgh"),
    (FORM, b"username=" + b"a" * 100_000),
    (FORM, b"&".join(b"f%d=1" % i for i in range(2000))),
    (FORM, b"username=alice&username=bob&password=" + PASSWORD.encode()),
    (FORM + "; charset=utf-16", "username=alice".encode("utf-16")),
    ("multipart/form-data", b"garbage"),
    ("multipart/form-data; boundary=", b"garbage"),
    (MULTIPART, b"garbage"),
    (MULTIPART, b"--xyz\r\n"),
    (MULTIPART, b'--xyz\r\nContent-Disposition: form-data; name="username"\r\n\r\nalice'),
    (MULTIPART, b"--xyz\r\n\r\nno headers\r\n--xyz--\r\n"),
    (MULTIPART, b"--xyz\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--xyz--\r\n"),
    (
        MULTIPART,
        b'--xyz\r\nContent-Disposition: form-data; name="username"; filename="a.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\nalice\r\n--xyz--\r\n",
    ),
    (
        MULTIPART,
        b'--xyz\r\nContent-Disposition: form-data; name="\xff\xfe"\r\n\r\n\xff\r\n--xyz--\r\n',
    ),
    (
        MULTIPART,
        b"".join(
            b'--xyz\r\nContent-Disposition: form-data; name="f%d"\r\n\r\n1\r\n' % i
            for i in range(500)
        )
        + b"--xyz--\r\n",
    ),
    ("application/json; charset=latin-1", b'{"username": "\xe9", "password": "x"}'),
    ("application/vnd.api+json", b'{"username": 1}'),
    ("application/json\x00", b"{}"),
    ("text/html", b"<script>"),
    ("*/*", b"x"),
    ("", b"x"),
]


@pytest.mark.parametrize("route", ["/signup", "/login"])
@pytest.mark.parametrize(("content_type", "body"), MALFORMED_FORMS, ids=range(len(MALFORMED_FORMS)))
async def test_malformed_forms_and_types_never_get_a_5xx(client, route, content_type, body):
    await assert_4xx_or_success(client, route, body, content_type)


async def assert_4xx_or_success(client, route, body, content_type):
    response = await client.post(route, content=body, headers={"Content-Type": content_type})
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/json"
        assert "code" in response.json()
    assert PASSWORD not in response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Bearer a.b.c"},
        {"Authorization": "Bearer " + "x" * 10_000},
        {"Authorization": "Basic YWxpY2U6cGFzcw=="},
        {"Authorization": ""},
        {"Cookie": "sessionid=" + "x" * 4000},
        {"Cookie": 'sessionid="\\000\\377"'},
        {"Cookie": "sessionid=; csrftoken="},
        {"Cookie": ";;;==;"},
        {"X-CSRF-Token": b"\xff\x00"},
        {"Accept-Language": "q=;;,,*;q=x"},
        {"X-Forwarded-For": "not-an-ip, ::::", "X-Forwarded-Proto": "gopher"},
    ],
)
async def test_odd_credentials_on_a_protected_route_get_a_clean_401_or_403(client, headers):
    response = await client.put("/items/x?name=a&size=1", headers=headers)
    assert response.status_code in (401, 403), response.text
    assert response.json()["code"] in (
        "not_authenticated",
        "token_invalid",
        "token_revoked",
        "csrf_failed",
    )


async def test_odd_inputs_after_sign_up_do_not_disturb_the_session(client):
    await signup(client)
    for body in (b"\x00", deep(100_000), b'{"username": NaN}'):
        response = await client.post("/login", content=body, headers={"Content-Type": JSON})
        assert response.status_code == 422
    for token in (b"\xff", b"", "x" * 10_000):
        response = await client.put("/items/x?name=a&size=1", headers={"X-CSRF-Token": token})
        assert response.status_code == 403
        assert response.json()["code"] == "csrf_failed"
    response = await client.post("/login", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
