"""A new QGIS user: the plugin from its zip in an empty profile, no geocolor engine anywhere, "Install the geocolor
engine", then Colorize on a real 16-bit raster and a western-hemisphere harvest through the installed engine.

``qgis_install_script.py`` runs under QGIS's Python (``/usr/bin/python3``, ``QT_QPA_PLATFORM=offscreen``) with
no ``$GEOCOLOR_PYTHON``, a PATH without geocolor, an empty HOME (no conda) and an empty profile. The installer
really creates the virtual environment in the profile and pip-installs ``<source>[onnx]`` from a copy of this
checkout (``$GEOCOLOR_ENGINE_SOURCE``); its dependencies come from the package index pip is configured with,
through pip's cache. This is the suite's most expensive test (most of it is pip); its timings are in the result
(``install.seconds``). Skipped where QGIS is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from geocolor.plugin_zip import build_zip
from tests.qgis.test_plugin_in_qgis import QGIS_PYTHON, _qgis_missing, _wmts_server

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SAMPLE = REPO / "geocolor" / "data" / "sample_gray_uint16.tif"
SEARCH_PATH = "/usr/bin:/bin"  # what the user's QGIS sees: no geocolor, no venv, no conda

pytestmark = [pytest.mark.qgis, pytest.mark.slow]


def _source_copy(dst: Path) -> Path:
    """What ``pip install <checkout>`` needs of this checkout, copied, so the build writes nothing into the checkout.

    The torch model files (``*.pt``) are left out: the installed engine is ``geocolor[onnx]``, which colours with
    the ``.onnx`` files, and packing 60 MB of weights it never reads into the wheel is most of pip's time.
    """
    dst.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, dst / name)
    shutil.copytree(REPO / "geocolor", dst / "geocolor", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pt"))
    return dst


def _pip_user_settings() -> dict[str, str]:
    """Keep the user's pip configuration and cache although the test moves HOME and XDG_CONFIG_HOME."""
    env = {}
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "pip" / "pip.conf"
    if "PIP_CONFIG_FILE" not in os.environ and config.is_file():
        env["PIP_CONFIG_FILE"] = str(config)
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR") or str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pip")
    return env


def _western_bbox(spec: dict) -> list[float]:
    """The harvest fixture's area (UTM 14N, in North Dakota) as lon/lat: every x is negative."""
    from pyproj import Transformer

    xmin, ymin, xmax, ymax = spec["bbox"]
    to_lonlat = Transformer.from_crs(spec["crs"], "EPSG:4326", always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_lonlat.transform([xmin, xmax], [ymin, ymax])
    return [round(lon0, 6), round(lat0, 6), round(lon1, 6), round(lat1, 6)]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> Iterator[dict]:
    reason = _qgis_missing()
    if reason:
        pytest.skip(reason)
    if shutil.which("geocolor", path=SEARCH_PATH):
        pytest.skip(f"geocolor is installed on {SEARCH_PATH}; this test needs a machine without an engine there")
    tmp = tmp_path_factory.mktemp("qgis_install")
    plugins = tmp / "plugins"
    with zipfile.ZipFile(build_zip(tmp / "geocolor_qgis.zip")) as archive:
        archive.extractall(plugins)
    source = _source_copy(tmp / "src")
    gray = tmp / "gray16.tif"
    shutil.copy(SAMPLE, gray)
    (tmp / "home").mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("GEOCOLOR_PYTHON", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_EXE")}
    env.update(_pip_user_settings(), QT_QPA_PLATFORM="offscreen", GEOCOLOR_QGIS_NO_DIALOG="1", PATH=SEARCH_PATH, HOME=str(tmp / "home"),
               XDG_RUNTIME_DIR=str(tmp), XDG_CONFIG_HOME=str(tmp / "config"), TMPDIR=str(tmp), GEOCOLOR_ENGINE_SOURCE=str(source),
               OMP_NUM_THREADS="1")
    with _wmts_server(tmp / "titiler.log") as wmts:
        harvest = {**wmts, "bbox": _western_bbox(wmts)} if wmts else None
        config = {"plugins": str(plugins), "tmp": str(tmp), "input": str(gray), "harvest": harvest}
        proc = subprocess.run([QGIS_PYTHON, str(HERE / "qgis_install_script.py"), json.dumps(config)], capture_output=True,
                              text=True, env=env, cwd=tmp, timeout=900)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    try:
        assert lines, f"the QGIS script printed no result (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        yield {**json.loads(lines[-1][len("RESULT "):]), "tmp": tmp, "gray": gray, "harvest_bbox": harvest and harvest["bbox"],
               "harvest_spec": harvest}
    finally:  # the engine is most of a GB; pytest keeps the last few runs' folders
        shutil.rmtree(tmp / "profile" / "geocolor" / "engine", ignore_errors=True)


def test_the_plugin_loads_with_colorize_and_install_actions_and_three_algorithms(first_run):
    assert first_run["started"]
    assert first_run["menu_actions"] == ["Colorize layer", "Install the geocolor engine"]
    assert first_run["algorithms"] == ["geocolor:colorize_raster", "geocolor:harvest_wmts", "geocolor:inpaint_raster"]
    assert first_run["menu_after_unload"] == []


def test_without_an_engine_colorize_offers_the_install_instead_of_failing(first_run):
    attempt = first_run["no_engine"]
    assert not attempt["task"] and attempt["new_layers"] == []
    [(level, text)] = attempt["messages"]
    assert "geocolor engine not found" in text and "Install the geocolor engine" in text and "\n" not in text
    assert attempt["buttons"] == ["Install the geocolor engine"]
    assert first_run["temp_leftovers"] == []


def test_a_cancelled_install_stops_quickly_and_leaves_nothing(first_run):
    cancelled = first_run["cancelled_install"]
    assert cancelled["started"] and cancelled["pip_running"] and cancelled["done"], cancelled
    assert cancelled["stop_seconds"] < 15 and not cancelled["engine_left"] and not cancelled["lock_left"]
    assert cancelled["messages"][-1][1] == "geocolor engine install cancelled; nothing was kept"


def test_the_install_makes_an_isolated_engine_in_the_profile(first_run):
    install = first_run["install"]
    assert install["started"] and install["done"] and install["error"] is None, install
    engine = Path(install["python"])
    assert engine.is_relative_to(Path(first_run["profile"]) / "geocolor" / "engine")
    assert install["marker"]["geocolor"] and install["marker"]["pip_arguments"] == [f"{first_run['tmp'] / 'src'}[onnx]"]
    assert "include-system-site-packages = false" in install["pyvenv_cfg"]
    assert install["imports"] == {"qgis": False, "torch": False, "onnxruntime": True, "geocolor": True}  # QGIS's stay out
    assert install["progress_seen"] == sorted(install["progress_seen"]) and install["progress_seen"][-1] == 100.0
    assert len(set(install["progress_seen"])) >= 5
    assert install["messages"][0][1].startswith("installing the geocolor engine into")
    assert install["messages"][-1][1].startswith("geocolor engine installed")
    print(f"engine install took {install['seconds']} s")


def test_after_the_install_colorize_adds_the_colour_layer(first_run):
    run = first_run["colorize"]
    assert run["task"] and run["finished"], run
    [new] = run["new_layers"]
    assert new["valid"] and new["bands"] == 3 and new["crs"] == "EPSG:32631" and new["size"] == [600, 600]
    assert run["messages"][-1][1].startswith("colorized layer added")


def test_the_16_bit_input_is_shown_with_the_stretch_the_engine_used(first_run):
    import rasterio

    from geocolor.raster import band_percentiles

    with rasterio.open(first_run["gray"]) as src:
        low, high = band_percentiles(src, (1,), (0.5, 99.5))
    assert first_run["colorize"]["info"] == {"stretch": pytest.approx([low, high])}
    before, after = first_run["renderer_before"], first_run["renderer_after"]
    assert after["type"] == before["type"] == "singlebandgray"
    assert (after["min"], after["max"]) == pytest.approx((low, high))
    assert (before["min"], before["max"]) != pytest.approx((low, high))  # QGIS's own default stretch differed
    assert after["algorithm"] == 1 and after["limits"] == 0  # StretchToMinimumMaximum; limits user-defined, kept on zoom
    assert "input shown with the engine's contrast" in first_run["colorize"]["messages"][-1][1]


def test_processing_harvest_with_a_western_bbox_reaches_the_engine_intact(first_run):
    if first_run.get("harvest") is None:
        pytest.skip("TiTiler (pip install titiler.application uvicorn) or the shared NAIP raster is missing")
    harvest, bbox = first_run["harvest"], first_run["harvest_bbox"]
    assert "error" not in harvest, harvest
    assert bbox[0] < 0 and bbox[2] < 0  # the case argparse once read as an option
    assert any(line.endswith(": the plugin's engine") for line in harvest["infos"]), harvest["infos"]
    received = harvest["received"]  # what the harvest wrote in its manifest: every option as sent
    assert received["aoi"] == {"bounds": pytest.approx(bbox, abs=1e-9), "crs": "EPSG:4326"}
    assert (received["tms"], received["zoom"]) == ("WebMercatorQuad", "15")
    assert received["url"] == first_run["harvest_spec"]["url"] and received["layer"] == first_run["harvest_spec"]["layer"]
    assert harvest["output"].endswith(".vrt") and harvest["layer"]["valid"] and harvest["layer"]["bands"] >= 3
    assert harvest["covers_request"]
