"""/metrics: requests by route template, log-ins, refreshes, live sessions."""

import httpx
from prometheus_client.parser import text_string_to_metric_families

from authgate.metrics import Metrics
from tests.bearer import create_account, token_login
from tests.helpers import PASSWORD


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics, by name and sorted labels."""
    response = await client.get("/metrics")
    assert response.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def requests(samples: dict, route: str, status: str, method: str = "GET") -> float:
    labels = (("method", method), ("route", route), ("status", status))
    return samples.get(("authgate_http_requests_total", labels), 0.0)


async def test_requests_are_labelled_by_route_template(client: httpx.AsyncClient) -> None:
    for path in ("/items/abc", "/items/xyz", "/items/abc"):
        assert (await client.get(path)).status_code == 404
    await client.get("/no/such/path/7f3a")
    await client.get("/health")
    samples = await scrape(client)
    assert requests(samples, "/items/{item_id}", "404") == 3
    assert requests(samples, "unmatched", "404") == 1
    assert requests(samples, "/health", "200") == 1
    routes = {dict(labels)["route"] for name, labels in samples if name.startswith("authgate_http")}
    assert not {r for r in routes if "abc" in r or "xyz" in r or "7f3a" in r}
    count = ("authgate_http_request_duration_seconds_count",
             (("method", "GET"), ("route", "/items/{item_id}")))  # fmt: skip
    assert samples[count] == 3


async def test_a_typed_path_is_labelled_as_documented(client: httpx.AsyncClient) -> None:
    """A route whose parameter has a convertor (`{passkey_id:uuid}`) keeps /openapi.json's form."""
    passkey = "/account/passkeys/00000000-0000-4000-8000-000000000000"
    assert (await client.delete(passkey)).status_code == 401
    samples = await scrape(client)
    assert requests(samples, "/account/passkeys/{passkey_id}", "401", "DELETE") == 1


async def test_odd_methods_share_one_label(client: httpx.AsyncClient) -> None:
    await client.request("BREW", "/health")
    samples = await scrape(client)
    assert requests(samples, "/health", "405", method="other") == 1


async def test_logins_refreshes_and_sessions(client: httpx.AsyncClient) -> None:
    await create_account(client)
    pair = await token_login(client)
    await client.post("/login", json={"username": "alice", "password": "wrong-pass"})
    await client.post("/account/refresh", json={"refresh": pair["refresh"]})
    await client.post("/account/refresh", json={"refresh": pair["refresh"]})  # reused
    await client.post("/account/refresh", json={"refresh": "nonsense"})
    await token_login(client, password=PASSWORD)
    samples = await scrape(client)
    assert samples[("authgate_logins_total", (("outcome", "succeeded"),))] == 2
    assert samples[("authgate_logins_total", (("outcome", "failed"),))] == 1
    for outcome, count in (("rotated", 1), ("reused", 1), ("invalid", 1)):
        assert samples[("authgate_refreshes_total", (("outcome", outcome),))] == count
    assert samples[("authgate_active_sessions", ())] == 1  # the reuse ended the first one


async def test_rate_limited_logins_are_counted(make_settings, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.apps import running_app

    async with running_app(make_settings(rate_limit_login="1/minute"), clock) as (_, client):
        for _ in range(2):
            await client.post("/login", json={"username": "x", "password": "wrong-pass"})
        samples = await scrape(client)
        assert samples[("authgate_logins_total", (("outcome", "rate_limited"),))] == 1


def test_each_app_counts_on_its_own() -> None:
    first, second = Metrics(), Metrics()
    first.observe_request("GET", "/health", 200, 0.01)
    assert b'route="/health"' in first.exposition()
    assert b'route="/health"' not in second.exposition()
