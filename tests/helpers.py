"""Helpers shared by tests: sign-up and the CSRF header."""

import httpx

PASSWORD = "correct-horse-battery"


async def signup(
    client: httpx.AsyncClient, username: str = "alice", password: str = PASSWORD, **extra: str
) -> dict:
    """Sign `username` up through /signup (JSON); the client keeps the cookies."""
    response = await client.post(
        "/signup", json={"username": username, "password": password, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()["user"]


def csrf_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies["csrftoken"]}
