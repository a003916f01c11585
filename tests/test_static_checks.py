"""The repository stays lint-clean (ruff) and the package type-checks (mypy, strict on the inference path).

Both run as their command lines would, from the repository root with the settings in ``pyproject.toml``;
each skips where its tool is not installed (``pip install -e .[test]`` brings both).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from tests.conftest import REPO


def run_tool(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e .[test])")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    r = run_tool("ruff", "check", "--no-cache", ".")
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_mypy_finds_nothing_in_the_package():
    r = run_tool("mypy", "geocolor")  # incremental: .mypy_cache makes reruns take seconds
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("Success: no issues found"), r.stdout


def test_the_inference_path_is_checked_strictly():
    """The strict per-module flags cover mosaic and models; ``strict = true`` there would apply everywhere."""
    import tomllib

    mypy = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert mypy["python_version"] == "3.11" and "strict" not in mypy
    strict = [o for o in mypy["overrides"] if o.get("disallow_untyped_defs")]
    assert len(strict) == 1 and "strict" not in strict[0]
    assert {"geocolor.mosaic.*", "geocolor.models.*"} <= set(strict[0]["module"])
    flags = ("check_untyped_defs", "disallow_any_generics", "disallow_incomplete_defs", "disallow_subclassing_any",
             "disallow_untyped_calls", "disallow_untyped_decorators", "extra_checks", "strict_equality",
             "warn_return_any", "warn_unused_ignores")
    assert all(strict[0].get(flag) is True for flag in flags) and strict[0]["implicit_reexport"] is False
    untyped = [o for o in mypy["overrides"] if o.get("ignore_missing_imports")]
    assert len(untyped) == 1 and "rasterio.*" in untyped[0]["module"]
