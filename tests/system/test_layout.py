"""The layout the README promises: a domain that imports no door, doors that never import
each other, and no import circle inside the domain (not even one hidden in a function)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOORS = ("http_api", "realtime", "jobs")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(package: str) -> dict[str, set[str]]:
    """Every module of the package and the project modules it imports, anywhere in it."""
    out: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        out[_module(path)] = found
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle among the graph's modules, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(graph[node] & graph.keys()):
            found = visit(nxt, [*path, node])
            if found:
                return found
        done.add(node)
        return None

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return None


def test_domain_has_no_import_circle() -> None:
    assert _cycle(_imports("models")) is None


def test_domain_imports_no_door_and_doors_not_each_other() -> None:
    def uses(package: str, other: str) -> list[str]:
        return sorted(
            mod
            for mod, imported in _imports(package).items()
            if any(i == other or i.startswith(other + ".") for i in imported)
        )

    for door in DOORS:
        assert uses("models", door) == [], door
        for other in DOORS:
            if other != door:
                assert uses(door, other) == [], (door, other)
