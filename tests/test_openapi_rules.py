"""Each rule the server enforces is the rule /openapi.json states: the schema, then the server."""

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from authgate import create_app
from authgate.accounts.policy import EMAIL_PATTERN, PASSWORD_MAX_LENGTH, USERNAME_PATTERN
from authgate.origin import ORIGIN_PATTERN
from authgate.schemas import DATE_TIME_PATTERN, PRINTABLE_PATTERN
from tests.bearer import bearer, create_account, set_user_flags, token_login
from tests.helpers import PASSWORD

MIN_LENGTH = 12  # not the default 8: the schema must follow the setting
NEW_PASSWORDS = [
    ("/signup", "password"),
    ("/account/create-account", "password"),
    ("/account/change-password", "new_password"),
    ("/account/password-reset/confirm", "new_password"),
]
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def strict_app(make_settings) -> AsyncIterator[FastAPI]:  # type: ignore[no-untyped-def]
    application = create_app(
        make_settings(rate_limit_enabled=False, password_min_length=MIN_LENGTH)
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def strict_client(strict_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=strict_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def spec(client) -> dict:
    return (await client.get("/openapi.json")).json()


def body_schema(spec: dict, path: str, method: str = "post", kind: str = "application/json"):
    schema = spec["paths"][path][method]["requestBody"]["content"][kind]["schema"]
    if "$ref" in schema:  # a body FastAPI documents itself: a component
        return spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


def field(spec: dict, path: str, name: str, kind: str = "application/json") -> dict:
    return body_schema(spec, path, kind=kind)["properties"][name]


@pytest.mark.parametrize(("path", "name"), NEW_PASSWORDS)
async def test_new_passwords_have_the_policy_bounds(strict_client, path, name):
    spec = (await strict_client.get("/openapi.json")).json()
    password = field(spec, path, name)
    assert (password["minLength"], password["maxLength"]) == (MIN_LENGTH, PASSWORD_MAX_LENGTH)
    assert not any(key.startswith("x-") for key in password)


async def test_a_password_shorter_than_the_documented_minimum_is_refused(strict_client):
    short = "q7#Zt!m2Kp9"  # 11 characters: uncommon, but one short of the setting
    response = await strict_client.post("/signup", json={"username": "al", "password": short})
    assert response.status_code == 422
    assert response.json()["code"] == "password_policy"
    accepted = await strict_client.post("/signup", json={"username": "al", "password": short + "x"})
    assert accepted.status_code == 201, accepted.text


async def test_log_in_passwords_have_no_policy(spec):
    password = field(spec, "/account/login", "password")
    assert password["minLength"] == 1  # old passwords, set under another policy, still log in


async def test_usernames_and_emails_are_patterns(client, spec):
    signup = body_schema(spec, "/signup")["properties"]
    assert signup["username"]["pattern"] == USERNAME_PATTERN
    email = field(spec, "/signup", "email", FORM)
    assert email["pattern"] == EMAIL_PATTERN
    for bad in ("a@b", "a..b@x.example", "a@x.1a", "émile@x.example", ".a@x.example"):
        assert not re.search(EMAIL_PATTERN, bad)
        response = await client.post(
            "/account/create-account",
            json={"username": "al", "password": PASSWORD, "email": bad},
        )
        assert response.status_code == 422, bad
    fine = "o'brien+tag@Mail.Example.ORG"
    created = await create_account(client, "al", email=fine)
    assert created["email"] == "o'brien+tag@mail.example.org"


async def test_form_bodies_carry_no_nulls(spec):
    """A form cannot send a null (nor an empty field: it counts as not sent)."""
    for kind in (FORM, "multipart/form-data"):
        email = field(spec, "/signup", "email", kind)
        assert email["type"] == "string" and "anyOf" not in email
    assert {"type": "null"} in field(spec, "/signup", "email")["anyOf"]  # JSON may say null


async def test_printable_text_is_a_pattern(client, spec):
    assert field(spec, "/signup", "first_name")["pattern"] == PRINTABLE_PATTERN
    put = spec["paths"]["/items/{item_id}"]["put"]["requestBody"]["content"]
    assert put["application/json"]["schema"]["properties"]["name"]["pattern"] == PRINTABLE_PATTERN
    response = await client.post(
        "/account/create-account",
        json={"username": "al", "password": PASSWORD, "first_name": "a\tb"},
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("model", "names"),
    [
        ("/account/reauthenticate", ["password", "code", "recovery_code", "passkey"]),
        ("/account/login/mfa", ["code", "recovery_code"]),
    ],
)
async def test_exactly_one_proof_is_a_one_of(spec, model, names):
    schema = body_schema(spec, model)
    assert [branch["required"] for branch in schema["oneOf"]] == [[name] for name in names]


async def test_reauthentication_wants_exactly_one_proof(client):
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    for body in ({}, {"password": PASSWORD, "code": "123456"}, {"password": None, "code": None}):
        response = await client.post("/account/reauthenticate", json=body, headers=headers)
        assert response.status_code == 422, body
    response = await client.post(
        "/account/reauthenticate", json={"password": PASSWORD, "code": None}, headers=headers
    )
    assert response.status_code == 200, response.text


async def test_the_token_endpoint_documents_each_grant(client, spec):
    body = spec["paths"]["/account/token"]["post"]["requestBody"]
    assert list(body["content"]) == [FORM]
    schema = body["content"][FORM]["schema"]
    assert schema["properties"]["grant_type"]["enum"] == ["password", "refresh_token"]
    grants = {b["properties"]["grant_type"]["const"]: b["required"] for b in schema["oneOf"]}
    assert grants == {"password": ["username", "password"],
                      "refresh_token": ["grant_type", "refresh_token"]}  # fmt: skip
    missing = await client.post("/account/token", data={"grant_type": "refresh_token"})
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    other = await client.post("/account/token", data={"grant_type": "client_credentials"})
    assert (other.status_code, other.json()["error"]) == (400, "unsupported_grant_type")


async def test_put_item_documents_its_two_sources(client, spec):
    put = spec["paths"]["/items/{item_id}"]["put"]
    assert put["requestBody"]["required"] is False
    assert "query parameters" in put["requestBody"]["description"]
    assert {p["name"] for p in put["parameters"] if p["in"] == "query"} == {"name", "size"}
    await create_account(client)
    headers = bearer((await token_login(client))["access"])
    for params in ({}, {"name": "x"}):
        response = await client.put("/items/thing", params=params, headers=headers)
        assert response.status_code == 422, params
    links = put["responses"]["201"]["links"]
    assert links["ReadItem"]["parameters"] == {"item_id": "$response.body#/item/id"}


async def test_origins_are_a_pattern(app, client, spec):
    origin = body_schema(spec, "/admin/cors/origins")["properties"]["origin"]
    assert origin["pattern"] == ORIGIN_PATTERN
    user = await create_account(client, "root")
    await set_user_flags(app, user["id"], is_admin=True)
    headers = bearer((await token_login(client, "root"))["access"])
    # As browsers send it: a host name in punycode, never in Unicode.
    for value, status in [
        ("https://bücher.example", 422),
        ("https://a.1b", 422),
        ("https://xn--bcher-kva.example", 201),
        ("http://[::1]:3000", 201),
    ]:
        response = await client.post("/admin/cors/origins", json={"origin": value}, headers=headers)
        assert response.status_code == status, (value, response.text)


async def test_since_is_an_rfc3339_time(app, client, spec):
    parameters = spec["paths"]["/admin/audit"]["get"]["parameters"]
    since = next(p for p in parameters if p["name"] == "since")["schema"]["anyOf"][0]
    assert (since["format"], since["pattern"]) == ("date-time", DATE_TIME_PATTERN)
    user = await create_account(client, "root")
    await set_user_flags(app, user["id"], is_admin=True)
    headers = bearer((await token_login(client, "root"))["access"])
    for value, status in [("0.5", 422), ("2026-01-01", 422), ("2026-01-01T00:00:00", 422),
                          ("2026-02-30T00:00:00Z", 422), ("2026-01-01T00:00:00Z", 200),
                          ("2026-01-01T09:00:00.5+09:00", 200)]:  # fmt: skip
        response = await client.get("/admin/audit", params={"since": value}, headers=headers)
        assert response.status_code == status, (value, response.text)


async def test_every_error_response_lists_its_codes(spec):
    schemas = spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if not status.startswith("4") or "content" not in response:
                    continue
                name = response["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
                code = schemas[name]["properties"]["code"]
                assert code.get("enum") or code.get("const"), (method, path, status)


async def test_an_answered_code_is_in_the_route_s_enum(client, spec):
    await create_account(client, "al")
    taken = await client.post("/signup", json={"username": "AL", "password": PASSWORD})
    assert (taken.status_code, taken.json()["code"]) == (400, "username_taken")
    ref = spec["paths"]["/signup"]["post"]["responses"]["400"]["content"]["application/json"]
    code = spec["components"]["schemas"][ref["schema"]["$ref"].split("/")[-1]]["properties"]
    assert sorted(code["code"]["enum"]) == ["email_taken", "username_taken"]


async def test_a_passkey_path_is_a_uuid(client):
    """`/account/passkeys/login` is not a passkey id: its 405 names only its own methods."""
    response = await client.delete("/account/passkeys/login")
    assert (response.status_code, response.headers["allow"]) == (405, "POST")
    missing = await client.delete("/account/passkeys/not-a-uuid")
    assert missing.status_code == 404
