"""Imports among the daemon's modules point one way: no cycle, counting function-local and type-only imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "experience_daemon"


def module_files(package: str, folder: Path) -> dict[str, Path]:
    """Every module of a package by dotted name (a package by its own name, for its __init__.py)."""
    found = {}
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    assert package in found, f"{folder} holds no package {package}"
    return found


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The modules among `modules` that `name` imports anywhere in its file (in functions, under TYPE_CHECKING)."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import module`
    return {t for t in targets if t in modules and t != name}


def import_graph(package: str, folder: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    files = module_files(package, folder)
    return {name: imports_of(name, path, set(files)) for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None when the graph has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_the_daemon_has_no_import_cycle() -> None:
    graph = import_graph(PACKAGE, ROOT / "daemon" / PACKAGE)
    assert "experience_daemon.service" in graph["experience_daemon.cli"]  # the graph sees real imports
    assert "experience_daemon.handlers" in graph["experience_daemon.server"]  # ... and function-local ones
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or []) + " (make one side take what it needs)"


def test_jobs_edits_and_inference_do_not_know_the_service_and_handlers_not_the_server() -> None:
    graph = import_graph(PACKAGE, ROOT / "daemon" / PACKAGE)
    for name in ("jobs", "edits", "inference", "workspace", "validation", "session"):
        assert f"{PACKAGE}.service" not in graph[f"{PACKAGE}.{name}"], f"{name} imports the service"
    for name in ("inference", "review", "runs", "training", "host"):
        assert f"{PACKAGE}.server" not in graph[f"{PACKAGE}.handlers.{name}"], f"handlers.{name} imports the server"


@pytest.mark.parametrize(
    ("source", "cycle"),
    [
        ("from pkg import b\n", ["pkg.a", "pkg.b", "pkg.a"]),  # from the package, a module
        ("def f():\n    import pkg.b\n", ["pkg.a", "pkg.b", "pkg.a"]),  # function-local
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import X\n", ["pkg.a", "pkg.b", "pkg.a"]),
        ("from . import b\n", ["pkg.a", "pkg.b", "pkg.a"]),  # relative
        ("import os\n", None),
    ],
)
def test_the_check_finds_every_kind_of_import(tmp_path: Path, source: str, cycle: list[str] | None) -> None:
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "__init__.py").write_text("", encoding="utf-8")
    (folder / "a.py").write_text(source, encoding="utf-8")
    (folder / "b.py").write_text("from pkg.a import thing\n", encoding="utf-8")
    assert find_cycle(import_graph("pkg", folder)) == cycle
