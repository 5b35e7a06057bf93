"""/docs, /redoc and /openapi.json: every route is described with its error responses."""

from collections.abc import Iterator

import pytest

METHODS = ("get", "put", "post", "patch", "delete")


def operations(spec: dict) -> Iterator[tuple[str, str, dict]]:
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def has_schema(response: dict) -> bool:
    return any("schema" in media for media in response.get("content", {}).values())


def example_path(path: str, operation: dict) -> str:
    """`path` with each parameter filled with a value of its documented type."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        schema = parameter.get("schema", {})
        value = {"integer": "1", "number": "1"}.get(schema.get("type", ""), "x")
        if schema.get("format") == "uuid":
            value = "00000000-0000-4000-8000-000000000000"
        path = path.replace("{" + parameter["name"] + "}", value)
    return path


@pytest.fixture
async def spec(client) -> dict:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_documentation_pages(client, path):
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


async def test_spec_describes_the_service(app, spec):
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "authgate"
    assert spec["info"]["version"] == app.version
    documented = {(method, path) for method, path, _ in operations(spec)}
    for expected in [
        ("put", "/items/{item_id}"),
        ("get", "/items/{item_id}"),
        ("delete", "/items/{item_id}"),
        ("get", "/items"),
        ("post", "/signup"),
        ("post", "/login"),
        ("post", "/logout"),
        ("get", "/health"),
    ]:
        assert expected in documented


async def test_every_operation_documents_an_error_with_its_schema(spec):
    missing = []
    for method, path, operation in operations(spec):
        errors = {
            code: response
            for code, response in operation["responses"].items()
            if code.startswith("4") and has_schema(response)
        }
        if not errors:
            missing.append(f"{method.upper()} {path}")
        assert operation.get("summary") or operation.get("description"), (method, path)
    assert missing == []


async def test_error_schemas_are_the_envelope(spec):
    schemas = spec["components"]["schemas"]
    for method, path, operation in operations(spec):
        for code, response in operation["responses"].items():
            if not code.startswith("4") or not has_schema(response):
                continue
            schema = response["content"]["application/json"]["schema"]
            name = schema["$ref"].rsplit("/", 1)[1]
            assert {"detail", "code"} <= set(schemas[name]["properties"]), (method, path, code)


async def test_protected_routes_document_401(client, spec):
    """Whatever answers 401 to a caller without credentials must say so in its description."""
    protected = set()
    for method, path, operation in operations(spec):
        response = await client.request(method.upper(), example_path(path, operation))
        assert response.status_code < 500, (method, path, response.text)
        if response.status_code == 401:
            protected.add((method, path))
            assert "401" in operation["responses"], f"{method.upper()} {path}: 401 undocumented"
            assert has_schema(operation["responses"]["401"]), f"{method.upper()} {path}"
    assert {("put", "/items/{item_id}"), ("delete", "/items/{item_id}")} <= protected


async def test_items_operations_document_their_statuses(spec):
    put = spec["paths"]["/items/{item_id}"]["put"]["responses"]
    assert {"200", "201", "401", "403", "412", "415", "422"} <= set(put)
    get = spec["paths"]["/items/{item_id}"]["get"]["responses"]
    assert {"200", "304", "404"} <= set(get)
    delete = spec["paths"]["/items/{item_id}"]["delete"]["responses"]
    assert {"204", "401", "403", "404", "412"} <= set(delete)
    listing = spec["paths"]["/items"]["get"]
    assert {"limit", "cursor"} <= {p["name"] for p in listing["parameters"]}


async def test_reauthentication_takes_a_passkey_as_json_only(spec):
    body = spec["paths"]["/account/reauthenticate"]["post"]["requestBody"]["content"]
    json_schema, form = body["application/json"]["schema"], body["multipart/form-data"]["schema"]
    proofs = {alt["required"][0]: alt["properties"] for alt in json_schema["oneOf"]}
    assert proofs["passkey"] == {"passkey": {"type": "object"}}
    assert proofs["password"] == {"password": {"type": "string"}}
    assert "passkey" not in form["properties"]
    assert {alt["required"][0] for alt in form["oneOf"]} == {"password", "code", "recovery_code"}
