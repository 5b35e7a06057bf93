"""The house's layering holds: imports point one way, services know no web framework."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "src" / "authgate"
INFRASTRUCTURE = (
    "settings", "db", "errors", "i18n", "security", "changes", "hostfeed", "sqlite", "units",
    "origin", "schemas", "net", "bodies", "openapi", "middleware", "handlers", "migrate",
    "mail", "feeds", "redisfeed", "logs", "metrics", "observe", "serving", "protocol", "coalesce",
)  # fmt: skip
DOMAINS = (
    "audit", "accounts", "sessions", "items", "admin", "cors", "browser", "recovery", "ui",
    "mfa", "passkeys",
)  # fmt: skip
TOP = ("routers", "compose", "app", "cli")
WEB = ("fastapi", "starlette")


def modules() -> dict[str, set[str]]:
    """Each module of the package (dotted, without `authgate.`) and what it imports."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                imported |= {f"{node.module}.{alias.name}" for alias in node.names}
        found[name] = imported
    return found


MODULES = modules()


def first(name: str) -> str:
    return name.split(".")[0]


def internal(imported: set[str]) -> set[str]:
    return {
        first(name.removeprefix("authgate.")) for name in imported if name.startswith("authgate.")
    }


@pytest.mark.parametrize("module", sorted(m for m in MODULES if first(m) in INFRASTRUCTURE))
def test_infrastructure_imports_no_domain(module):
    assert not internal(MODULES[module]) & {*DOMAINS, *TOP}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if first(m) == "accounts"))
def test_accounts_import_nothing_above_them(module):
    assert not internal(MODULES[module]) & {"sessions", "items", "admin", "cors", *TOP}


@pytest.mark.parametrize("module", sorted(m for m in MODULES if first(m) in DOMAINS))
def test_domains_import_no_router_and_no_composition(module):
    assert not internal(MODULES[module]) & set(TOP)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if first(m) == "audit"))
def test_audit_imports_no_other_domain(module):
    # Every domain records its events through it: it sits just above the infrastructure.
    assert not internal(MODULES[module]) & ({*DOMAINS, *TOP} - {"audit"})


@pytest.mark.parametrize(
    "module",
    sorted(m for m in MODULES if m.rsplit(".", 1)[-1] in ("service", "errors", "models", "store")),
)
def test_services_errors_and_tables_know_no_web_framework(module):
    assert not {first(name) for name in MODULES[module]} & set(WEB)


def test_nothing_imports_the_app_or_the_command_line():
    for module, imported in MODULES.items():
        if module not in ("app", "cli", "__init__", "__main__"):
            assert not internal(imported) & {"app", "cli"}, module


def test_no_orm_session_anywhere():
    for path in PACKAGE.rglob("*.py"):
        assert "AsyncSession" not in path.read_text(), path
