"""No import cycles between geocolor's top-level packages (``geocolor.mosaic``, ``geocolor.train``, ...).

Every ``import`` / ``from ... import`` in the package counts, at module level or inside a function,
except those under ``if TYPE_CHECKING:`` (annotations only). A module directly under ``geocolor/``
(``geocolor/color.py``) is its own top-level unit. Data flows one way (AOI -> tiles -> chips -> model
-> mosaic); a cycle means two packages can no longer be understood, tested or replaced apart.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "geocolor"

# cycles that exist on purpose, as (a, b) edges that may close one; keep this empty
ALLOWED_EDGES: set[tuple[str, str]] = set()


def _unit(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "geocolor" or len(parts) < 2:
        return None
    return parts[1]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def import_edges() -> dict[tuple[str, str], list[str]]:
    """(unit a, unit b) -> where a imports b (``file:line``)."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        source = _unit(module)
        if source is None:
            continue
        tree = ast.parse(path.read_text(), str(path))
        skip = _type_checking_lines(tree)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if getattr(node, "lineno", None) in skip:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{a.name}" if base == "geocolor" else base for a in node.names]
            for target in targets:
                unit = _unit(target)
                if unit and unit != source:
                    edges.setdefault((source, unit), []).append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return edges


def find_cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components with more than one unit (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_finder_finds_a_planted_cycle():
    assert find_cycles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [["a", "b", "c"]]
    assert find_cycles({("a", "b"), ("b", "c")}) == []


def test_no_import_cycle_between_top_level_packages():
    edges = import_edges()
    assert ("mosaic", "models") in edges, "the scan sees real imports"
    cycles = find_cycles(set(edges) - ALLOWED_EDGES)
    detail = []
    for cycle in cycles:
        members = set(cycle)
        for (a, b), where in sorted(edges.items()):
            if a in members and b in members:
                detail.append(f"{a} -> {b}: {', '.join(where[:3])}")
    assert not cycles, "import cycles between top-level packages: " + "; ".join(detail)
