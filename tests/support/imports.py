"""The import graph of a package, read with `ast` (nothing is imported), and its cycles.

Every import counts: at module level, inside functions and under `if TYPE_CHECKING:`. A
cycle hidden in a function body or a typing block is still two modules that each need the
other, which is the design problem the cycle test is there to catch.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Edge:
    """`source` imports `target`, first at `line` of `path`."""

    source: str
    target: str
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({self.path}:{self.line})"


def modules(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under `package` (a package directory)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _targets(node: ast.AST, package: str, known: dict[str, Path]) -> list[str]:
    """The modules of `known` that one import statement loads (relative imports resolved).

    `from pkg import name` loads `pkg.name` when that is a module, else `pkg` itself.
    """
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parent = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*parent, base] if base else parent)
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    else:
        return []
    return [found for found in (_resolve(name, known) for name in names) if found]


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module `name` loads: itself, or the nearest enclosing module we know."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def graph(package: Path) -> dict[str, dict[str, Edge]]:
    """Module -> {imported module -> the first import of it}, for modules inside `package`."""
    known = modules(package)
    edges: dict[str, dict[str, Edge]] = {name: {} for name in known}
    for name, path in known.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for target in _targets(node, here, known):
                if target != name and target not in edges[name]:
                    edges[name][target] = Edge(name, target, path.relative_to(package.parent), node.lineno)
    return edges


def cycles(edges: dict[str, dict[str, Edge]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in edges:
        if node not in index:
            visit(node)
    return sorted(found)


def layer_of(module: str, layers: list[tuple[str, ...]]) -> int | None:
    """Index of the layer that names `module` or an enclosing subpackage (the top package
    names only its own `__init__`, so a new top-level module has no layer until placed)."""
    parts = module.split(".")
    for size in range(len(parts), 1 if len(parts) > 1 else 0, -1):
        name = ".".join(parts[:size])
        for index, members in enumerate(layers):
            if name in members:
                return index
    return None


def upward_imports(edges: dict[str, dict[str, Edge]], layers: list[tuple[str, ...]]) -> list[Edge]:
    """Imports from a lower layer (earlier in `layers`) of a module in a higher one."""
    found = []
    for source, targets in edges.items():
        for target, edge in targets.items():
            low, high = layer_of(source, layers), layer_of(target, layers)
            if low is not None and high is not None and high > low:
                found.append(edge)
    return found
