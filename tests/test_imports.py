"""No private name is imported from another top-level package: code shared between packages is public
(``geocolor.raster``, ``geocolor.files``, ``geocolor.color``, ...). Import cycles: ``test_import_cycles``."""

from __future__ import annotations

import ast

from tests.conftest import REPO

PACKAGE = REPO / "geocolor"


def _unit(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "geocolor" and len(parts) > 1 else None


def private_imports() -> list[str]:
    """``file:line name`` of every ``from geocolor.X... import _name`` in a module outside ``geocolor.X``."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = _unit(".".join(path.relative_to(REPO).with_suffix("").parts))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.module or node.level:
                continue
            for alias in node.names:
                unit = _unit(f"{node.module}.{alias.name}" if node.module == "geocolor" else node.module)
                if unit and unit != me and alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} {alias.name}")
    return found


def test_no_private_names_across_packages():
    assert private_imports() == []
