"""What a newcomer meets before any feature: the quick start runs twice, the package builds quietly,
example outputs stay out of git, and the test suite collects without rasterio."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_quick_start_command_runs_twice(tmp_path):
    readme = (REPO / "README.md").read_text()
    first = next(line for line in readme.splitlines() if line.startswith("bash .ci/setup && "))
    mosaic = first.split("&& ", 1)[1].split()
    assert mosaic[0] == ".venv/bin/geocolor" and "--overwrite" in mosaic
    exe = Path(sys.executable).parent / "geocolor"
    args = [str(REPO / a) if a.startswith("geocolor/data/") else a for a in mosaic[1:]]
    for _ in range(2):  # the second run must succeed as well, replacing the first run's output
        r = subprocess.run([str(exe), "-q", *args], cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
    assert (tmp_path / "sample_color.tif").is_file()


def test_example_outputs_and_gdal_sidecars_are_ignored():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    paths = ["geocolor/data/sample_gray_uint16.tif.aux.xml", "tiles/15/1/2.tif", "naip_tiles/tiles.vrt", "sample_color.tif"]
    r = subprocess.run(["git", "check-ignore", *paths], cwd=REPO, capture_output=True, text=True)
    assert r.stdout.split() == paths


@pytest.mark.slow
def test_package_builds_without_setuptools_warnings(tmp_path):
    pytest.importorskip("setuptools")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(REPO)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "is absent from the `packages` configuration" not in r.stdout + r.stderr


def test_tests_collect_where_rasterio_does_not_import():
    """The plugin's tests run under the system Python, which may lack rasterio: collection must not die."""
    code = ("import sys; sys.modules['rasterio'] = None; import pytest; "
            "sys.exit(pytest.main(['--collect-only', '-q', '-p', 'no:cacheprovider', 'tests/test_color.py']))")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
