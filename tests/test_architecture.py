"""The shape of the package: imports run one way, downwards (house rule "Imports run one way").

A feature package (orders, ledger, messaging, reports) never imports the facade module; the
module import graph, TYPE_CHECKING-only imports included, has no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import asolora_core

ROOT = Path(asolora_core.__file__).parent
FEATURES = ("orders", "ledger", "messaging", "reports")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from pkg import submodule`` depends on the submodule, not on what the
                # package's __init__ re-exports
                subs = [f"{node.module}.{a.name}" for a in node.names]
                targets = [t for t in subs if t in modules] or [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def test_no_feature_imports_the_facade() -> None:
    graph = _graph()
    offenders = sorted(
        name
        for name, deps in graph.items()
        if name.split(".")[1:2]
        and name.split(".")[1] in FEATURES
        and "asolora_core.service" in deps
    )
    assert offenders == []


def test_the_module_graph_has_no_cycle() -> None:
    graph = _graph()
    seen: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        seen[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if seen.get(dep) == 1:
                cycles.append([*stack[stack.index(dep) :], dep])
            elif dep not in seen:
                visit(dep)
        stack.pop()
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            visit(node)
    assert cycles == []
