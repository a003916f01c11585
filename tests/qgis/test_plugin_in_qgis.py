"""The plugin in a real headless QGIS: toolbar action -> QgsTask -> new layer; Processing; screenshot.

QGIS's Python is Debian's ``/usr/bin/python3`` (the venv cannot import ``qgis``), so this test runs
``qgis_script.py`` under it with ``QT_QPA_PLATFORM=offscreen`` and asserts on the JSON it prints. The
engine is real: the script's plugin runs this venv's Python as its subprocess engine with the shipped model.
Skipped where QGIS is not installed (``apt-get install -y python3-qgis qgis-providers``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from geocolor.plugin_zip import build_zip

QGIS_PYTHON = os.environ.get("GEOCOLOR_QGIS_SYSTEM_PYTHON", "/usr/bin/python3")
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SAMPLE = REPO / "geocolor" / "data" / "sample_gray_uint16.tif"


def _qgis_missing() -> str | None:
    if not os.path.exists(QGIS_PYTHON):
        return f"{QGIS_PYTHON} not found"
    probe = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True,
                           env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    if probe.returncode:
        return "QGIS is not installed (apt-get install -y python3-qgis qgis-providers)"
    return None


pytestmark = [pytest.mark.qgis, pytest.mark.slow]

NAIP = Path(os.environ.get("GEOCOLOR_SHARED_DATA", REPO.parent / "shared" / "data")) / "naip" / "m_4709963_se_14_1_20200831.tif"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _wmts_server(log: Path) -> Iterator[dict | None]:
    """A real TiTiler (own process) serving the NAIP GeoTIFF as WMTS; None where TiTiler or the data is missing."""
    if importlib.util.find_spec("titiler") is None or importlib.util.find_spec("uvicorn") is None or not NAIP.exists():
        yield None
        return
    port = _free_port()
    with open(log, "wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "titiler.application.main:app", "--host", "127.0.0.1",
                                 "--port", str(port), "--log-level", "warning"], stdout=sink, stderr=subprocess.STDOUT,
                                env={**os.environ, "GDAL_CACHEMAX": "64"})
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                        break
                except OSError:
                    time.sleep(0.3)
            yield {"url": f"{base}/cog/WMTSCapabilities.xml?url={NAIP}&bidx=1&bidx=2&bidx=3",
                   "layer": f"{NAIP}_WebMercatorQuad_default", "zoom": "15", "crs": "EPSG:26914",
                   "bbox": [488100.0, 5207300.0, 488400.0, 5207600.0]}
        finally:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def qgis_run(tmp_path_factory) -> dict:
    reason = _qgis_missing()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("qgis")
    gray = tmp / "gray.tif"
    shutil.copy(SAMPLE, gray)
    plugins = tmp / "plugins"  # the plugin as a user installs it: the zip of ``python -m geocolor.plugin_zip``, unpacked
    with zipfile.ZipFile(build_zip(tmp / "geocolor_qgis.zip")) as archive:
        archive.extractall(plugins)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GEOCOLOR_QGIS_NO_DIALOG": "1", "GEOCOLOR_PYTHON": sys.executable,
           "XDG_RUNTIME_DIR": str(tmp), "XDG_CONFIG_HOME": str(tmp / "config"), "TMPDIR": str(tmp)}
    env.pop("PYTHONPATH", None)
    with _wmts_server(tmp / "titiler.log") as wmts:
        config = {"plugins": str(plugins), "python": sys.executable, "tmp": str(tmp), "input": str(gray), "harvest": wmts}
        proc = subprocess.run([QGIS_PYTHON, str(HERE / "qgis_script.py"), json.dumps(config)], capture_output=True,
                              text=True, env=env, cwd=tmp, timeout=400)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the QGIS script printed no result (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return {**json.loads(lines[-1][len("RESULT "):]), "tmp": str(tmp)}


def test_plugin_from_the_zip_loads_through_qgis_loader_with_action_menu_and_algorithms(qgis_run):
    assert qgis_run["qgis"].startswith("3.")
    assert qgis_run["available"] and qgis_run["min_version"] == "3.22" and qgis_run["started"]
    assert qgis_run["toolbar_actions"] == 1
    assert qgis_run["menu_actions"] == ["Colorize layer", "Install the geocolor engine"]
    assert qgis_run["algorithms"] == ["geocolor:colorize_raster", "geocolor:harvest_wmts", "geocolor:inpaint_raster"]


def test_colorize_action_adds_a_colour_layer_in_the_same_place_above_the_input(qgis_run):
    assert qgis_run["task_started"] and qgis_run["task_finished"], qgis_run
    assert qgis_run["task_progress"] == 100.0
    between = [p for p in qgis_run["progress_seen"] if 0 < p < 100]
    assert len(set(between)) >= 2 and between == sorted(between), qgis_run["progress_seen"]  # passed through as it runs
    [new] = qgis_run["new_layers"]
    source = qgis_run["input"]
    assert new["valid"] and new["bands"] == 3 and source["bands"] == 1
    assert new["crs"] == source["crs"] == "EPSG:32631"
    assert new["extent"] == pytest.approx(source["extent"], abs=1e-6)
    assert new["size"] == source["size"]
    assert qgis_run["new_above_input"]
    assert qgis_run["messages_after_action"][-1][1].startswith("colorized layer added")


def test_engine_error_reaches_the_message_bar_as_one_critical_line(qgis_run):
    [(level, text)] = qgis_run["error_messages"]
    assert level == qgis_run["critical_level"]
    assert "no_such_model.pt" in text and "\n" not in text and "Traceback" not in text


def test_non_file_layer_is_exported_colorized_and_the_export_removed(qgis_run):
    memory = qgis_run["memory"]
    assert memory["finished"], memory
    [new] = memory["new_layers"]
    assert new["valid"] and new["bands"] == 3 and new["crs"] == qgis_run["input"]["crs"]
    assert new["extent"] == pytest.approx(qgis_run["input"]["extent"], abs=1e-6)
    assert memory["temp_leftovers"] == []


def test_dialog_fills_parameters_and_remembers_choices(qgis_run):
    dialog = qgis_run["dialog"]
    assert dialog["title"] == "geocolor: Colorize layer" and dialog["finished"]
    assert dialog["default_output"] == str(Path(qgis_run["tmp"]) / "gray_color_2.tif")  # gray_color.tif exists already
    assert "from_dialog" in dialog["layers"] and (Path(qgis_run["tmp"]) / "from_dialog.tif").exists()
    assert dialog["saved_device"] == "cpu"


def test_cancel_stops_the_engine_quickly_and_leaves_nothing(qgis_run):
    cancel = qgis_run["cancel"]
    assert cancel["finished"] and cancel["stop_seconds"] < 20
    assert not cancel["output_exists"] and cancel["leftovers"] == [] and cancel["new_layers"] == 0
    assert cancel["messages"] == [[int(cancel["messages"][0][0]), "colorize cancelled"]]


def test_layer_export_keeps_crs_extent_and_size(qgis_run):
    exported, source = qgis_run["exported"], qgis_run["input"]
    assert exported["valid"] and exported["crs"] == source["crs"] and exported["size"] == source["size"]
    assert exported["extent"] == pytest.approx(source["extent"], abs=1e-6)


def test_processing_colorize_raster_writes_a_georeferenced_colour_raster(qgis_run):
    out = qgis_run["processing_layer"]
    assert Path(qgis_run["processing_output"]) == Path(qgis_run["tmp"]) / "processing_out.tif"
    assert out["valid"] and out["bands"] == 3 and out["crs"] == qgis_run["input"]["crs"]
    assert out["extent"] == pytest.approx(qgis_run["input"]["extent"], abs=1e-6)
    memory = qgis_run["processing_memory_layer"]  # a non-file input: exported, colorized, export removed
    assert memory["valid"] and memory["bands"] == 3 and memory["extent"] == pytest.approx(qgis_run["input"]["extent"], abs=1e-6)
    assert qgis_run["processing_temp_leftovers"] == []


def test_canvas_screenshot_shows_the_colour_result(qgis_run):
    png = Path(qgis_run["screenshot"])
    assert png.exists() and png.stat().st_size > 10_000
    assert qgis_run["colourful_fraction"] > 0.1  # a gray-only canvas has ~0; the muted default model gives about 0.19


def test_unload_removes_action_and_provider(qgis_run):
    assert qgis_run["toolbar_after_unload"] == 0
    assert not qgis_run["provider_after_unload"]


def test_processing_harvest_wmts_fetches_tiles_into_a_vrt_covering_the_extent(qgis_run):
    if "harvest" not in qgis_run:
        pytest.skip("TiTiler (pip install titiler.application uvicorn) or the shared NAIP raster is missing")
    harvest = qgis_run["harvest"]
    assert harvest["output"].endswith(".vrt") and Path(harvest["folder"], "manifest.json").exists()
    layer = harvest["layer"]
    assert layer["valid"] and layer["bands"] >= 3 and layer["crs"] == "EPSG:3857"
    assert harvest["covers_request"]
