"""The plugin's pure engine logic (no QGIS): engine discovery, the runner's line protocol, progress, cancel, errors.

Runs in the project venv: the subprocess engine here is the real ``geocolor.qgis_runner`` in this venv's Python.
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import fields
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import rasterio
from geocolor_qgis import engine
from geocolor_qgis.discovery import find_engine
from geocolor_qgis.engine import (
    INPROCESS,
    INSTALL_ACTION,
    SUBPROCESS,
    ColorizeParams,
    Engine,
    EngineCancelled,
    EngineError,
    EngineNotFound,
    HarvestParams,
    InpaintParams,
    default_output,
    parse_line,
    run_colorize,
    run_harvest,
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
    found = find_engine(None, plugin_dir, environ={}, inprocess=lambda: False, which=lambda name: None, works=lambda p: True,
                        home=tmp_path)
    assert (found.python, found.found_by, found.clean_env) == (str(venv_python), "repository .venv", True)
    os.remove(venv_python)
    script = _executable(tmp_path / "geocolor", f"#!{sys.executable}\nimport geocolor.cli\n")
    which = {"geocolor": str(script)}.get
    found = find_engine(None, plugin_dir, environ={}, inprocess=lambda: False, which=which, works=lambda p: True, home=tmp_path)
    assert (found.python, found.found_by) == (sys.executable, "geocolor on PATH")


def test_no_engine_names_how_to_set_it_up(tmp_path):
    with pytest.raises(EngineNotFound) as info:
        find_engine(None, tmp_path, environ={}, inprocess=lambda: False, which=lambda name: None, home=tmp_path)
    assert "GEOCOLOR_PYTHON" in str(info.value) and "pip install -e ." in str(info.value)
    assert INSTALL_ACTION in str(info.value) and "\n" not in str(info.value)


def test_parse_line():
    assert parse_line("PROGRESS 0.420\n") == ("progress", 0.42)
    assert parse_line("PROGRESS 7") == ("progress", 1.0)
    assert parse_line("DONE /a b/c.tif") == ("done", "/a b/c.tif")
    assert parse_line("ERROR input is bad; fix it") == ("error", "input is bad; fix it")
    assert parse_line("some log line") is None
    assert parse_line("PROGRESS x") is None
    assert parse_line('INFO {"stretch": [-3.5, 4000]}') == ("info", {"stretch": [-3.5, 4000]})
    assert parse_line("INFO not json") is None and parse_line("INFO [1, 2]") is None


def test_params_become_json_requests_with_absolute_paths():
    request = json.loads(ColorizeParams("/d/in.tif", "/d/out.tif", "/m/m.pt", "cpu", overwrite=True).to_json())
    assert request == {"command": "colorize", "options": {
        "src": "/d/in.tif", "dst": "/d/out.tif", "model": "/m/m.pt", "device": "cpu", "overwrite": True,
        "fill_nodata": False, "inpaint_model": None, "style": None, "dodge": 0.0}}
    options = ColorizeParams("in.tif", "out.tif").request()["options"]
    assert (options["src"], options["dst"]) == (os.path.abspath("in.tif"), os.path.abspath("out.tif"))  # the runner's cwd differs
    h = HarvestParams("http://h/caps.xml", "ortho", (1, 2, 3, 4), "EPSG:3857", "15", "out", tms="WebMercatorQuad")
    assert json.loads(h.to_json()) == {"command": "harvest", "options": {
        "url": "http://h/caps.xml", "layer": "ortho", "bbox": [1.0, 2.0, 3.0, 4.0], "bbox_crs": "EPSG:3857", "zoom": "15",
        "out": os.path.abspath("out"), "tms": "WebMercatorQuad", "overwrite": False}}
    assert ColorizeParams("/d/é.tif", "/d/o.tif").to_json().isascii()  # any console or pipe encoding passes it intact


def test_inpaint_fill_nodata_and_style_params_become_json_requests(tmp_path):
    request = InpaintParams("/d/in.tif", "/d/out.tif", "/d/mask.tif", "/m/i.pt", "cpu", overwrite=True, method="biharmonic").request()
    assert request == {"command": "inpaint", "options": {"src": "/d/in.tif", "dst": "/d/out.tif", "mask": "/d/mask.tif",
                                                         "model": "/m/i.pt", "device": "cpu", "overwrite": True,
                                                         "method": "biharmonic"}}
    assert InpaintParams("in.tif", "out.tif").options() == {"src": os.path.abspath("in.tif"), "dst": os.path.abspath("out.tif"),
                                                            "mask": None, "model": None, "device": "auto", "overwrite": False,
                                                            "method": "auto"}
    c = ColorizeParams("/d/in.tif", "/d/out.tif", fill_nodata=True, inpaint_model="/m/i.pt", style="summer", dodge=40).options()
    assert (c["fill_nodata"], c["inpaint_model"], c["style"], c["dodge"]) == (True, "/m/i.pt", "summer", 40.0)  # a name stays a name
    ref = tmp_path / "ref.tif"
    ref.touch()
    relative = os.path.relpath(ref)
    assert ColorizeParams("a.tif", "b.tif", style=relative).options()["style"] == str(ref)  # a file: absolute
    assert ColorizeParams("a.tif", "b.tif", style="").options()["style"] is None


def _recording(calls: list[tuple[tuple, dict]], result: object) -> Callable[..., object]:
    def api(*args: object, **kwargs: object) -> object:
        calls.append((args, kwargs))
        return result

    return api


@pytest.mark.parametrize("mode", [SUBPROCESS, INPROCESS])
def test_colorize_and_inpaint_params_reach_the_api_as_its_own_options(monkeypatch, mode):
    """Params -> JSON -> ``colorize`` / ``inpaint`` keyword options, every name a field of the API's options dataclass."""
    import geocolor.inpaint
    import geocolor.mosaic
    from geocolor.inpaint.engine import InpaintOptions
    from geocolor.mosaic.engine import MosaicOptions

    calls: list[tuple[tuple, dict]] = []
    monkeypatch.setattr(geocolor.mosaic, "colorize", _recording(calls, SimpleNamespace(path=Path("/d/out.tif"))))
    monkeypatch.setattr(geocolor.inpaint, "inpaint", _recording(calls, SimpleNamespace(path=Path("/d/filled.tif"))))
    monkeypatch.setattr(engine, "run_runner", _runner_in_this_process)  # the subprocess path, minus the process
    run_engine = Engine(mode, sys.executable if mode == SUBPROCESS else None)
    params = ColorizeParams("/d/in.tif", "/d/out.tif", "/m/m.pt", "cpu", overwrite=True, fill_nodata=True,
                            inpaint_model="/m/i.pt", style="summer", dodge=12.5)
    assert run_colorize(run_engine, params) == "/d/out.tif"
    params = InpaintParams("/d/in.tif", "/d/filled.tif", "/d/mask.tif", "/m/i.pt", "cpu", overwrite=True, method="biharmonic")
    assert run_inpaint(run_engine, params) == "/d/filled.tif"
    (colorize_args, colorize_kwargs), (inpaint_args, inpaint_kwargs) = calls
    assert colorize_args == ("/d/in.tif", "/d/out.tif")
    assert {k: v for k, v in colorize_kwargs.items() if k not in ("progress", "is_cancelled")} == {"model": "/m/m.pt", "device": "cpu", "overwrite": True, "fill_nodata": True,
                               "inpaint_model": "/m/i.pt", "style": "summer", "dodge": 12.5, "show_progress": False}
    assert set(colorize_kwargs) - {"progress", "is_cancelled"} <= {f.name for f in fields(MosaicOptions)}
    assert inpaint_args == ("/d/in.tif", "/d/filled.tif")
    assert {k: v for k, v in inpaint_kwargs.items() if k not in ("progress", "is_cancelled")} == {
        "mask": "/d/mask.tif", "model": "/m/i.pt", "device": "cpu", "overwrite": True, "method": "biharmonic",
        "show_progress": False}
    assert set(inpaint_kwargs) - {"progress", "is_cancelled"} <= {f.name for f in fields(InpaintOptions)}


@pytest.mark.parametrize("mode", [SUBPROCESS, INPROCESS])
def test_harvest_params_reach_the_harvest_config_with_a_western_bbox_intact(monkeypatch, tmp_path, mode):
    """A bbox starting with a negative number (all of the Americas in EPSG:4326) reaches ``HarvestConfig`` unchanged."""
    import geocolor.harvest
    from geocolor.harvest import HarvestConfig

    configs: list[HarvestConfig] = []

    def fake_harvest(config: HarvestConfig, progress=None, is_cancelled=None) -> object:
        configs.append(config)
        return SimpleNamespace(cancelled=False, failed=0, vrt=config.out / "tiles.vrt", out=config.out)

    monkeypatch.setattr(geocolor.harvest, "harvest", fake_harvest)
    monkeypatch.setattr(engine, "run_runner", _runner_in_this_process)
    run_engine = Engine(mode, sys.executable if mode == SUBPROCESS else None)
    params = HarvestParams("http://h/caps.xml", "ortho", (-99.16, 47.0, -99.1, 47.05), "EPSG:4326", "15", str(tmp_path / "h"),
                           tms="WebMercatorQuad", overwrite=True)
    assert run_harvest(run_engine, params) == str(tmp_path / "h" / "tiles.vrt")
    [config] = configs
    assert config.aoi.bounds == pytest.approx((-99.16, 47.0, -99.1, 47.05)) and config.aoi.crs.to_epsg() == 4326
    assert (config.url, config.layer, config.zoom, config.out, config.tms, config.overwrite) == (
        "http://h/caps.xml", "ortho", "15", tmp_path / "h", "WebMercatorQuad", True)


def _runner_in_this_process(python: str, args: Sequence[str], progress=None, is_cancelled=None, *, stdin: str | None = None,
                            info=None, env=None) -> str:
    """``run_runner``'s contract (the DONE value, or EngineError with the ERROR line) from ``qgis_runner.main`` in this process."""
    from geocolor.qgis_runner import main

    assert list(args) == ["run", "-"] and stdin is not None and env is not None
    out = io.StringIO()
    main(args, out, io.StringIO(stdin))
    for line in out.getvalue().splitlines():
        message = parse_line(line)
        if message and message[0] == "info" and info:
            info(message[1])
    kind, value = parse_line(out.getvalue().splitlines()[-1]) or ("", "")
    if kind != "done":
        raise EngineError(str(value))
    return str(value)


def test_a_request_the_runner_refuses_is_the_engine_error(tmp_path):
    params = InpaintParams(str(tmp_path / "in.tif"), str(tmp_path / "out.tif"), device="tpu")
    with pytest.raises(EngineError) as info:
        run_inpaint(Engine(INPROCESS), params)
    assert str(info.value) == "inpaint: device 'tpu' is not one of auto, cpu, cuda"


def test_the_plugin_offers_exactly_the_devices_the_cli_accepts():
    import click

    from geocolor.commands.options import DEVICES, device_option

    assert engine.DEVICES == DEVICES
    command = device_option(click.command()(lambda device: None))
    [option] = command.params
    assert tuple(option.type.choices) == DEVICES


def test_the_plugin_offers_exactly_the_inpaint_methods_of_the_library():
    """``algorithms.InpaintRasterAlgorithm.METHODS`` (QGIS-only module, so read from its source) equals the library's."""
    import ast

    from geocolor.inpaint.selfcheck import METHODS

    tree = ast.parse((Path(engine.__file__).parent / "algorithms.py").read_text())
    [value] = [node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
               and any(isinstance(t, ast.Name) and t.id == "METHODS" for t in node.targets)]
    assert ast.literal_eval(value) == METHODS


def test_engine_module_imports_without_geocolor_torch_or_qgis(tmp_path):
    """QGIS's Python may have none of them: the plugin's engine module (and a request) must still work."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('geocolor', 'torch', 'qgis'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.path.insert(0, {str(Path(engine.__file__).parents[1])!r})\n"
        "import geocolor_qgis, geocolor_qgis.engine as e, geocolor_qgis.discovery, geocolor_qgis.installer\n"
        "print(e.DEVICES, e.ColorizeParams('a.tif', 'b.tif').to_json())\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("('auto', 'cpu', 'cuda') {\"command\": \"colorize\"")


def test_default_output_never_takes_an_existing_file(tmp_path):
    src = str(tmp_path / "photo.tif")
    assert default_output(src) == str(tmp_path / "photo_color.tif")
    (tmp_path / "photo_color.tif").touch()
    (tmp_path / "photo_color_2.tif").touch()
    assert default_output(src) == str(tmp_path / "photo_color_3.tif")


@pytest.mark.slow
@pytest.mark.parametrize("mode", [SUBPROCESS, INPROCESS])
def test_run_colorize_reports_progress_and_writes_a_georeferenced_colour_tif(tmp_path, tiny_model, mode):
    from geocolor.raster import band_percentiles

    run_engine = Engine(mode, sys.executable if mode == SUBPROCESS else None)
    seen: list[float] = []
    info: dict = {}
    out = run_colorize(run_engine, ColorizeParams(str(SAMPLE), str(tmp_path / "out.tif"), str(tiny_model), "cpu"), seen.append,
                       None, info.update)
    assert Path(out) == tmp_path / "out.tif"
    with rasterio.open(SAMPLE) as src:  # the stretch the engine used: its 0.5 / 99.5 percentiles of the 16-bit input
        assert info == {"stretch": pytest.approx(list(band_percentiles(src, (1,), (0.5, 99.5))))}
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


def test_plugin_modules_import_one_way():
    """plugin -> provider -> algorithms -> settings / engine: nothing below imports the plugin object's module."""
    import ast

    plugin_dir = Path(engine.__file__).parent
    for name in ("algorithms", "provider", "settings", "engine", "task", "dialog", "layers", "discovery", "installer", "process",
                 "install_task", "contrast"):
        tree = ast.parse((plugin_dir / f"{name}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level}
        assert "plugin" not in imported, name
