"""The layout rules of docs/architecture.md, checked on the source (no imports run).

- Packages stand on each other in one direction: ``uptime_core`` imports none of the others;
  ``uptime_graphql`` and ``uptime_worker`` import ``uptime_core`` only (never each other);
  ``uptime_cli`` may import all three, and nothing imports it.
- The floors of the core import nothing of ours: ``enums``, ``validation``,
  ``stats/histogram`` and ``runtime/signals`` (the console script imports it first).
- The worker runs no SQL of its own: it calls the core's named functions.
- No Python file is over 500 lines.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("uptime_core", "uptime_graphql", "uptime_worker", "uptime_cli")
MAY_IMPORT = {
    "uptime_core": {"uptime_core"},
    "uptime_graphql": {"uptime_core", "uptime_graphql"},
    "uptime_worker": {"uptime_core", "uptime_worker"},
    "uptime_cli": set(PACKAGES),
}
FLOORS = (
    "uptime_core/enums.py",
    "uptime_core/validation.py",
    "uptime_core/stats/histogram.py",
    "uptime_core/runtime/signals.py",
)
MAX_LINES = 500


def _python_files(*folders: str) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    paths = [ROOT / name for name in listed if (ROOT / name).exists()]
    if folders:
        paths = [p for p in paths if p.relative_to(ROOT).parts[0] in folders]
    return paths


def _imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports in functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _ours(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in PACKAGES}


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_the_packages_below_it(package: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _python_files(package)
        for module in _ours(_imported(path))
        if module.split(".")[0] not in MAY_IMPORT[package]
    }
    assert not wrong, sorted(wrong)


def test_the_floors_of_the_core_import_nothing_of_ours() -> None:
    wrong = {f"{floor} imports {m}" for floor in FLOORS for m in _ours(_imported(ROOT / floor))}
    assert not wrong, sorted(wrong)


_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)


def test_the_worker_runs_no_sql_of_its_own() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _python_files("uptime_worker")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL.match(node.value)
    ]
    assert not found, f"SQL in the worker; move it to a named function of the core: {found}"


def test_the_worker_executes_no_statement_of_the_core_itself() -> None:
    """Not even one imported from the core: the core's functions run its statements."""
    imported = {
        f"{path.relative_to(ROOT)} imports {alias.name} from {node.module}"
        for path in _python_files("uptime_worker")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module in _ours({node.module or ""})
        for alias in node.names
        if isinstance(value := _value_of(node.module, alias.name), str) and _SQL.match(value)
    }
    assert not imported, sorted(imported)


def _value_of(module: str, name: str) -> object:
    import importlib

    return getattr(importlib.import_module(module), name, None)


def test_no_python_file_is_over_500_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): count
        for path in _python_files()
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, long


def test_the_rules_see_the_code() -> None:
    """The checks above would pass vacuously on an empty tree: make sure they read files."""
    assert len(_python_files(*PACKAGES)) > 50
    assert "uptime_core.runtime.settings" in _imported(ROOT / "uptime_cli" / "commands.py")
