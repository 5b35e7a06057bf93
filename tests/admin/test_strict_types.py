"""JSON bodies take booleans and integers as JSON booleans and integers only, never coerced."""

import httpx
import pytest
from fastapi import FastAPI

from tests.admin.test_router import admin, patch_user  # noqa: F401  (the `admin` fixture)
from tests.helpers import csrf_headers, signup

LOOSE_BOOLEANS = [0, 1, "yes", "t", "true", "1", 1.0, "on", [], {}]


@pytest.mark.parametrize("field", ["is_admin", "is_active"])
@pytest.mark.parametrize("value", LOOSE_BOOLEANS)
async def test_admin_update_takes_only_json_booleans(
    admin: httpx.AsyncClient,  # noqa: F811
    new_client,  # type: ignore[no-untyped-def]
    field: str,
    value: object,
) -> None:
    user = await signup(new_client(), "dave")
    response = await admin.patch(
        f"/admin/users/{user['id']}", json={field: value}, headers=csrf_headers(admin)
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "validation_error"
    listed = (await admin.get("/admin/users", params={"q": "dave"})).json()["users"]
    assert listed[0]["is_admin"] is False  # nothing changed


async def test_admin_update_still_takes_true_false_and_null(
    admin: httpx.AsyncClient,  # noqa: F811
    new_client,  # type: ignore[no-untyped-def]
) -> None:
    user = await signup(new_client(), "erin")
    response = await patch_user(admin, user["id"], is_admin=True)
    assert response.status_code == 200
    assert response.json()["is_admin"] is True
    response = await admin.patch(
        f"/admin/users/{user['id']}", json={"is_admin": None}, headers=csrf_headers(admin)
    )
    assert response.status_code == 200
    assert response.json()["is_admin"] is True


def _request_schemas(app: FastAPI) -> dict[str, dict]:
    """Every JSON request body schema of the API, by title, with `$ref`s resolved."""
    document = app.openapi()
    components = document.get("components", {}).get("schemas", {})
    found = {}
    for path in document["paths"].values():
        for operation in path.values():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                continue
            if "$ref" in schema:
                schema = components[schema["$ref"].rsplit("/", 1)[1]]
            found[schema.get("title", "?")] = schema
    return found


def _loose_kinds(schema: dict) -> set[str]:
    kinds = set()
    for prop in schema.get("properties", {}).values():
        for option in prop.get("anyOf", [prop]):
            if option.get("type") in ("boolean", "integer", "number"):
                kinds.add(option["type"])
    return kinds


async def test_every_json_body_with_numbers_or_booleans_is_strict(app: FastAPI) -> None:
    """A new body model with a boolean or a number must be made strict and added here."""
    typed = {title for title, s in _request_schemas(app).items() if _loose_kinds(s)}
    assert typed == {"UserAdminUpdate", "ItemWrite"}
