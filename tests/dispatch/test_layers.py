"""The direction of imports inside dispatch/ (DESIGN.md "Shape"): the interfaces call the wings,
the wings never import the interfaces, and the API does not import the pages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DISPATCH = Path(__file__).resolve().parents[2] / "dispatch"
WINGS = ("access", "audiences", "campaigns", "engine", "hooks", "jobs", "models", "push",
         "replies", "reports", "schemas", "sms")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _offenders(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    bad = {}
    for path in sorted((DISPATCH / package).rglob("*.py")):
        hits = sorted(m for m in _imports(path)
                      if any(m == f or m.startswith(f + ".") for f in forbidden))
        if hits:
            bad[str(path.relative_to(DISPATCH.parent))] = hits
    return bad


def test_the_api_does_not_import_the_pages() -> None:
    assert _offenders("api", ("dispatch.web",)) == {}


@pytest.mark.parametrize("wing", WINGS)
def test_a_wing_imports_no_interface(wing: str) -> None:
    assert _offenders(wing, ("dispatch.web", "dispatch.api")) == {}
