"""The plugin's pure engine logic (no QGIS): engine discovery, the runner's line protocol, progress, cancel, errors.

Runs in the project venv: the subprocess engine here is the real ``geocolor.qgis_runner`` in this venv's Python.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from geocolor_qgis import engine
from geocolor_qgis.engine import (
    INPROCESS,
    SUBPROCESS,
    ColorizeParams,
    Engine,
    EngineCancelled,
    EngineError,
    HarvestParams,
    default_output,
    find_engine,
    parse_line,
    run_colorize,
)

SAMPLE = Path(__file__).resolve().parents[2] / "geocolor" / "data" / "sample_gray_uint16.tif"


def _executable(path: Path, text: str = "#!/bin/sh\n") -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_configured_python_wins_over_everything(tmp_path):
    python = _executable(tmp_path / "python")
    found = find_engine(str(python), tmp_path, environ={"GEOCOLOR_PYTHON": "/nope"}, inprocess=lambda: True)
    assert found == Engine(SUBPROCESS, str(python), "settings")
    found = find_engine(None, tmp_path, environ={"GEOCOLOR_PYTHON": str(python)}, inprocess=lambda: True)
    assert (found.mode, found.python, found.found_by) == (SUBPROCESS, str(python), "$GEOCOLOR_PYTHON")


def test_configured_python_that_is_not_executable_is_a_clear_error(tmp_path):
    with pytest.raises(EngineError, match="not an executable file"):
        find_engine(str(tmp_path / "missing-python"), tmp_path, environ={})


def test_inprocess_then_repo_venv_then_path(tmp_path):
    plugin_dir = tmp_path / "repo" / "qgis_plugin" / "geocolor_qgis"
    plugin_dir.mkdir(parents=True)
    assert find_engine(None, plugin_dir, environ={}, inprocess=lambda: True).mode == INPROCESS
    venv_python = tmp_path / "repo" / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    _executable(venv_python)
    found = find_engine(None, plugin_dir, environ={}, inprocess=lambda: False, which=lambda name: None)
    assert (found.python, found.found_by) == (str(venv_python), "repository .venv")
    os.remove(venv_python)
    script = _executable(tmp_path / "geocolor", f"#!{sys.executable}\nimport geocolor.cli\n")
    found = find_engine(None, plugin_dir, environ={}, inprocess=lambda: False, which=lambda name: str(script))
    assert (found.python, found.found_by) == (sys.executable, "geocolor on PATH")


def test_no_engine_names_how_to_set_it_up(tmp_path):
    with pytest.raises(EngineError) as info:
        find_engine(None, tmp_path, environ={}, inprocess=lambda: False, which=lambda name: None)
    assert "GEOCOLOR_PYTHON" in str(info.value) and "pip install -e ." in str(info.value)


def test_parse_line():
    assert parse_line("PROGRESS 0.420\n") == ("progress", 0.42)
    assert parse_line("PROGRESS 7") == ("progress", 1.0)
    assert parse_line("DONE /a b/c.tif") == ("done", "/a b/c.tif")
    assert parse_line("ERROR input is bad; fix it") == ("error", "input is bad; fix it")
    assert parse_line("some log line") is None
    assert parse_line("PROGRESS x") is None


def test_params_become_runner_arguments():
    args = ColorizeParams("/d/in.tif", "/d/out.tif", "/m/m.pt", "cpu", overwrite=True).runner_args()
    assert args == ["colorize", "/d/in.tif", "/d/out.tif", "--device", "cpu", "--model", "/m/m.pt", "--overwrite"]
    assert ColorizeParams("in.tif", "out.tif").runner_args()[1] == os.path.abspath("in.tif")  # the runner's cwd differs
    h = HarvestParams("http://h/caps.xml", "ortho", (1, 2, 3, 4), "EPSG:3857", "15", "/out", tms="WebMercatorQuad")
    assert h.runner_args()[h.runner_args().index("--bbox") + 1] == "1.0,2.0,3.0,4.0"
    assert h.runner_args()[-2:] == ["--tms", "WebMercatorQuad"]


def test_default_output_never_takes_an_existing_file(tmp_path):
    src = str(tmp_path / "photo.tif")
    assert default_output(src) == str(tmp_path / "photo_color.tif")
    (tmp_path / "photo_color.tif").touch()
    (tmp_path / "photo_color_2.tif").touch()
    assert default_output(src) == str(tmp_path / "photo_color_3.tif")


@pytest.mark.slow
@pytest.mark.parametrize("mode", [SUBPROCESS, INPROCESS])
def test_run_colorize_reports_progress_and_writes_a_georeferenced_colour_tif(tmp_path, tiny_model, mode):
    run_engine = Engine(mode, sys.executable if mode == SUBPROCESS else None)
    seen: list[float] = []
    out = run_colorize(run_engine, ColorizeParams(str(SAMPLE), str(tmp_path / "out.tif"), str(tiny_model), "cpu"), seen.append)
    assert Path(out) == tmp_path / "out.tif"
    assert seen and seen[-1] == 1.0 and seen == sorted(seen) and len(seen) >= 3
    with rasterio.open(SAMPLE) as src, rasterio.open(out) as dst:
        assert dst.count >= 3 and dst.crs == src.crs and dst.transform == src.transform
        rgb = dst.read([1, 2, 3]).astype(np.int16)
    assert np.abs(rgb[0] - rgb[2]).mean() > 1  # colour, not gray


@pytest.mark.slow
def test_subprocess_engine_error_is_the_engines_one_line_message(tmp_path, tiny_model):
    run_engine = Engine(SUBPROCESS, sys.executable)
    with pytest.raises(EngineError) as info:
        run_colorize(run_engine, ColorizeParams(str(tmp_path / "missing.tif"), str(tmp_path / "o.tif"), str(tiny_model)))
    message = str(info.value)
    assert "missing.tif" in message and "\n" not in message and "Traceback" not in message


@pytest.mark.slow
def test_cancel_terminates_the_subprocess_and_leaves_no_output(tmp_path, tiny_model):
    run_engine = Engine(SUBPROCESS, sys.executable)
    seen: list[float] = []
    dst = tmp_path / "out.tif"
    with pytest.raises(EngineCancelled):
        run_colorize(run_engine, ColorizeParams(str(SAMPLE), str(dst), str(tiny_model), "cpu"), seen.append, lambda: bool(seen))
    assert seen and not dst.exists()
    assert not [p for p in tmp_path.iterdir() if p.name != "out.tif"]  # no temp leftovers either


def test_engine_module_does_not_import_qgis():
    assert engine.__name__ == "geocolor_qgis.engine" and "qgis.core" not in sys.modules


def test_a_python_without_geocolor_gets_the_setup_hint(tmp_path):
    other = "/usr/bin/python3"
    if not os.path.exists(other) or os.path.realpath(other) == os.path.realpath(sys.executable):
        pytest.skip("needs a second Python without geocolor")
    with pytest.raises(EngineError) as info:
        run_colorize(Engine(SUBPROCESS, other), ColorizeParams(str(SAMPLE), str(tmp_path / "o.tif")))
    assert "has no geocolor installed" in str(info.value) and "GEOCOLOR_PYTHON" in str(info.value)
