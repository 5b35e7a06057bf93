"""A TypeScript client: openapi-typescript types from the served /openapi.json, openapi-fetch
calls typed by them (tests/clients/ts/flow.ts): sign-up, log-in, /account/me, refresh, a
conditional item upsert, log-out.

The types are generated in each run and the flow is compiled against them by tsc, so a change of
the served schema that breaks the generated types, or the flow's use of them, fails here; so does
any answer the flow did not expect (it exits 1 and says which step).
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.clients.conftest import Served
from tests.clients.toolchains import TS_PACKAGE, node_packages, run

pytestmark = pytest.mark.e2e


@pytest.fixture
def modules() -> Path:
    """The installed node_modules (asked before a server is started: it may skip the test)."""
    return node_packages()


def test_sign_up_log_in_refresh_upsert_and_log_out(
    modules: Path, served: Served, tmp_path: Path
) -> None:
    work = tmp_path / "ts"
    work.mkdir()
    for name in ("flow.ts", "tsconfig.json"):
        shutil.copy(TS_PACKAGE / name, work / name)
    (work / "package.json").write_text('{"type": "module"}\n')
    (work / "node_modules").symlink_to(modules, target_is_directory=True)
    tools = modules / ".bin"

    generated = run(
        [str(tools / "openapi-typescript"), str(served.spec), "-o", str(work / "schema.ts")]
    )
    # Its warnings (" ⚠  ...") name schema constructs it could not type faithfully.
    assert "\u26a0" not in generated, generated
    run([str(tools / "tsc"), "-p", str(work / "tsconfig.json")], timeout=300)
    node = shutil.which("node")
    assert node is not None
    env = {**os.environ, "AUTHGATE_URL": served.url}
    output = run([node, str(work / "out" / "flow.js")], env=env)
    assert "ok: sign-up, log-in" in output, output
