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
    InpaintParams,
    default_output,
    find_engine,
    parse_line,
    run_colorize,
    run_inpaint,
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
    assert "--bbox=1.0,2.0,3.0,4.0" in h.runner_args()
    assert h.runner_args()[-2:] == ["--tms", "WebMercatorQuad"]


def test_inpaint_fill_nodata_and_style_params_become_runner_arguments(tmp_path):
    args = InpaintParams("/d/in.tif", "/d/out.tif", "/d/mask.tif", "/m/i.pt", "cpu", overwrite=True).runner_args()
    assert args == ["inpaint", "/d/in.tif", "/d/out.tif", "--device", "cpu", "--mask", "/d/mask.tif", "--model", "/m/i.pt",
                    "--overwrite"]
    assert InpaintParams("in.tif", "out.tif").runner_args() == ["inpaint", os.path.abspath("in.tif"),
                                                                os.path.abspath("out.tif"), "--device", "auto"]
    c = ColorizeParams("/d/in.tif", "/d/out.tif", fill_nodata=True, inpaint_model="/m/i.pt", style="summer").runner_args()
    assert c[-5:] == ["--fill-nodata", "--inpaint-model", "/m/i.pt", "--style", "summer"]  # a name stays a name
    assert ColorizeParams("/d/in.tif", "/d/out.tif", dodge=40.0).runner_args()[-2:] == ["--dodge", "40"]
    assert "--dodge" not in ColorizeParams("/d/in.tif", "/d/out.tif").runner_args()
    ref = tmp_path / "ref.tif"
    ref.touch()
    relative = os.path.relpath(ref)
    assert ColorizeParams("a.tif", "b.tif", style=relative).runner_args()[-2:] == ["--style", str(ref)]  # a file: absolute
    assert "--fill-nodata" not in ColorizeParams("a.tif", "b.tif").runner_args()


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


@pytest.mark.parametrize("mode", [SUBPROCESS, INPROCESS])
def test_run_inpaint_fills_the_hole_with_progress_in_both_modes(tmp_path, gray_with_hole, tiny_inpaint_model, mode,
                                                                one_torch_thread, monkeypatch):
    from tests.qgis.conftest import HOLE

    monkeypatch.setenv("PYTHONPATH", str(SAMPLE.parents[2]))  # the subprocess runs this checkout's geocolor
    monkeypatch.setenv("OMP_NUM_THREADS", "1")

    run_engine = Engine(mode, sys.executable if mode == SUBPROCESS else None)
    seen: list[float] = []
    out = run_inpaint(run_engine, InpaintParams(str(gray_with_hole), str(tmp_path / "f.tif"), None, str(tiny_inpaint_model),
                                                "cpu"), seen.append)
    assert Path(out) == tmp_path / "f.tif" and seen and seen[-1] == 1.0 and seen == sorted(seen)
    with rasterio.open(gray_with_hole) as src, rasterio.open(out) as dst:
        assert (src.dataset_mask()[HOLE] == 0).all() and (dst.dataset_mask() > 0).all()
        assert dst.crs == src.crs and dst.transform == src.transform
    with pytest.raises(EngineError, match="f.tif"):  # exists, no overwrite: the engine's one-line message
        run_inpaint(run_engine, InpaintParams(str(gray_with_hole), str(tmp_path / "f.tif"), None, str(tiny_inpaint_model)))


def test_western_hemisphere_bbox_reaches_the_runner_intact():
    """A bbox starting with a negative number (all of the Americas in EPSG:4326) is not read as an option."""
    from geocolor.qgis_runner import _parser

    h = HarvestParams("http://h/caps.xml", "ortho", (-99.16, 47.0, -99.1, 47.05), "EPSG:4326", "15", "/out")
    args = _parser().parse_args(h.runner_args())
    assert args.bbox == "-99.16,47.0,-99.1,47.05" and args.bbox_crs == "EPSG:4326"
