"""The client generators, installed from the project's lock files once and reused while unchanged.

The Python generator goes into a virtual environment of its own under `.cache/clients/` (it
cannot share the project's: requirements/client-generator.in says why); the TypeScript tools are
`npm ci`-ed into tests/clients/ts/node_modules. Each install leaves a stamp holding the digest of
its lock file, so a rerun with the same lock reuses it (and works offline) and a changed lock
reinstalls. Without Node.js and npm the TypeScript tests skip, except under CI=true, where they
fail.
"""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
GENERATOR_LOCK = ROOT / "requirements" / "client-generator.txt"
GENERATOR_ENV = ROOT / ".cache" / "clients" / "openapi-python-client"
TS_PACKAGE = Path(__file__).resolve().parent / "ts"
INSTALL_TIMEOUT = 600
STAMP = ".authgate-lock-digest"


def run(command: list[str], *, cwd: Path | None = None, timeout: float = 120, env=None) -> str:
    """Run `command`; its output, or a test failure that shows the output."""
    try:
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"{' '.join(command)} took more than {timeout}s:\n{expired.output}")
    output = done.stdout + done.stderr
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited with {done.returncode}:\n{output[-6000:]}")
    return output


def _digest(lock: Path) -> str:
    return hashlib.sha256(lock.read_bytes()).hexdigest()


def _is_current(folder: Path, lock: Path) -> bool:
    stamp = folder / STAMP
    return stamp.exists() and stamp.read_text() == _digest(lock)


def python_generator() -> Path:
    """The `openapi-python-client` executable, installed from its lock file when needed."""
    executable = GENERATOR_ENV / "bin" / "openapi-python-client"
    if not _is_current(GENERATOR_ENV, GENERATOR_LOCK):
        shutil.rmtree(GENERATOR_ENV, ignore_errors=True)
        # No pip of its own: the project's pip installs into it (ten seconds less, cold).
        run([sys.executable, "-m", "venv", "--without-pip", str(GENERATOR_ENV)])
        pip = [sys.executable, "-m", "pip", "--python", str(GENERATOR_ENV / "bin" / "python")]
        run([*pip, "install", "-q", "--no-compile", "--disable-pip-version-check",
             "-r", str(GENERATOR_LOCK)], timeout=INSTALL_TIMEOUT)  # fmt: skip
        (GENERATOR_ENV / STAMP).write_text(_digest(GENERATOR_LOCK))
    return executable


def require_node() -> None:
    """Skip (fail under CI=true) when Node.js or npm is missing."""
    missing = [name for name in ("node", "npm") if shutil.which(name) is None]
    if not missing:
        return
    reason = f"{' and '.join(missing)} not found (install Node.js 20 or later with npm)"
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def node_packages() -> Path:
    """tests/clients/ts/node_modules, `npm ci`-ed from package-lock.json when needed."""
    require_node()
    modules = TS_PACKAGE / "node_modules"
    lock = TS_PACKAGE / "package-lock.json"
    if not _is_current(modules, lock):
        npm = shutil.which("npm")
        assert npm is not None
        run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline"],
            cwd=TS_PACKAGE, timeout=INSTALL_TIMEOUT)  # fmt: skip
        (modules / STAMP).write_text(_digest(lock))
    return modules
