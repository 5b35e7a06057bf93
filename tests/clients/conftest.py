"""A real `authgate serve` on a fresh SQLite data folder, and the /openapi.json it serves."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.served import Server, start_server, stop_server


@dataclass(frozen=True)
class Served:
    url: str  # http://127.0.0.1:PORT
    spec: Path  # the served /openapi.json, saved for a generator to read


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    started: list[Server] = []
    try:
        server = start_server(
            (), data_dir=tmp_path / "server", env=None, timeout=None, started=started
        )
        response = httpx.get(f"{server.url}/openapi.json", timeout=30)
        assert response.status_code == 200, response.text
        spec = tmp_path / "openapi.json"
        spec.write_bytes(response.content)
        yield Served(server.url, spec)
    finally:
        for server in started:
            stop_server(server)
