"""The plugin's inpainting in a real headless QGIS: "Fill nodata holes (inpaint)" and "Colorize raster" with
"Fill nodata holes first" through ``processing.run``, outputs loaded as layers.

Like test_plugin_in_qgis.py: ``qgis_inpaint_script.py`` runs under QGIS's Python (``/usr/bin/python3``,
``QT_QPA_PLATFORM=offscreen``), the plugin comes from its zip, and its subprocess engine is this venv's Python
(through a small wrapper that puts this checkout first on ``PYTHONPATH``). Small rasters and tiny models keep it short.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio

from geocolor.plugin_zip import build_zip
from tests.qgis.conftest import HOLE
from tests.qgis.test_plugin_in_qgis import QGIS_PYTHON, _qgis_missing

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

pytestmark = [pytest.mark.qgis, pytest.mark.slow]


@pytest.fixture(scope="module")
def qgis_inpaint(tmp_path_factory, gray_with_hole, tiny_inpaint_model, tiny_model) -> dict:
    reason = _qgis_missing()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("qgis_inpaint")
    plugins = tmp / "plugins"
    with zipfile.ZipFile(build_zip(tmp / "geocolor_qgis.zip")) as archive:
        archive.extractall(plugins)
    python = tmp / "geocolor-python"  # this checkout's geocolor, one torch thread (a shared 2-core machine)
    python.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO}" OMP_NUM_THREADS=1 exec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    with rasterio.open(gray_with_hole) as src:
        profile, shape = src.profile, src.shape
    mask = np.zeros((1, *shape), dtype=np.uint8)
    mask[0, 40:43, 10:240] = 1  # a scratch
    with rasterio.open(tmp / "mask.tif", "w", **{**profile, "dtype": "uint8", "nodata": None}) as dst:
        dst.write(mask)
    work = tmp / "work"
    work.mkdir()
    config = {"plugins": str(plugins), "python": str(python), "tmp": str(work), "input": str(gray_with_hole),
              "mask": str(tmp / "mask.tif"), "inpaint_model": str(tiny_inpaint_model), "colorize_model": str(tiny_model),
              "hole": [HOLE[0].start, HOLE[0].stop, HOLE[1].start, HOLE[1].stop]}
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(tmp), "XDG_CONFIG_HOME": str(tmp / "config"),
           "TMPDIR": str(tmp)}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([QGIS_PYTHON, str(HERE / "qgis_inpaint_script.py"), json.dumps(config)], capture_output=True,
                          text=True, env=env, cwd=tmp, timeout=300)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"the QGIS script printed no result (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return {**json.loads(lines[-1][len("RESULT "):]), "work": work, "mask": tmp / "mask.tif"}


def test_provider_has_the_inpaint_algorithm_and_colorize_has_the_advanced_options(qgis_inpaint):
    assert qgis_inpaint["started"]
    assert qgis_inpaint["algorithms"] == ["geocolor:colorize_raster", "geocolor:harvest_wmts", "geocolor:inpaint_raster"]
    assert qgis_inpaint["inpaint_name"] == "Fill nodata holes (inpaint)"
    assert qgis_inpaint["inpaint_parameters"] == ["INPUT", "MASK", "MODEL", "DEVICE", "METHOD", "PYTHON", "OUTPUT"]
    advanced = qgis_inpaint["colorize_advanced"]
    assert advanced["FILL_NODATA"] == "Fill nodata holes first"
    assert advanced["STYLE"] == "Style reference raster or style name" and "PYTHON" in advanced


def test_processing_inpaint_fills_the_hole_keeps_the_grid_and_loads_as_a_layer(qgis_inpaint, gray_with_hole):
    source = qgis_inpaint["input"]
    assert source["nodata_in_hole"] == 24 * 30  # the hole is there to begin with
    result = qgis_inpaint["inpaint"]
    assert Path(result["output"]) == qgis_inpaint["work"] / "filled.tif", result
    layer = result["layer"]
    assert layer["valid"] and layer["in_project"] and layer["bands"] == 1 and layer["nodata_in_hole"] == 0
    assert layer["crs"] == source["crs"] == "EPSG:32631" and layer["size"] == source["size"]
    assert layer["extent"] == pytest.approx(source["extent"], abs=1e-6) and layer["pixel"] == pytest.approx(source["pixel"])
    with rasterio.open(gray_with_hole) as src, rasterio.open(result["output"]) as dst:
        assert dst.crs == src.crs and dst.transform == src.transform
        before, after = src.read(1), dst.read(1)
    outside = np.ones(before.shape, dtype=bool)
    outside[HOLE] = False
    assert (after[outside] == before[outside]).all() and (after[HOLE] != 0).all()


def test_processing_inpaint_with_a_mask_layer_fills_only_the_mask(qgis_inpaint, gray_with_hole):
    result = qgis_inpaint["inpaint_mask"]
    assert "output" in result, result
    assert result["layer"]["valid"] and result["layer"]["nodata_in_hole"] == 24 * 30  # the nodata box is not in the mask
    with rasterio.open(gray_with_hole) as src, rasterio.open(result["output"]) as dst, rasterio.open(qgis_inpaint["mask"]) as m:
        changed = dst.read(1) != src.read(1)
        masked = m.read(1) > 0
    assert changed[masked].mean() > 0.5 and not changed[~masked].any()


def test_processing_errors_are_one_line(qgis_inpaint):
    bad_model = qgis_inpaint["inpaint_bad_model"]["error"]
    assert "no_such_inpaint.pt" in bad_model and "\n" not in bad_model.strip() and "Traceback" not in bad_model
    bad_style = qgis_inpaint["colorize_bad_style"]["error"]
    assert "no_such_style" in bad_style and "Traceback" not in bad_style


def test_processing_colorize_dodge_parameter_reaches_the_engine(qgis_inpaint):
    result = qgis_inpaint["colorize_dodged"]
    assert Path(result["output"]) == qgis_inpaint["work"] / "colour_dodged.tif", result
    with rasterio.open(result["output"]) as dst:
        assert "radius 20 px" in dst.tags()["GEOCOLOR_DODGE"]


def test_processing_colorize_with_fill_nodata_has_colour_in_the_hole(qgis_inpaint):
    result = qgis_inpaint["colorize_filled"]
    assert Path(result["output"]) == qgis_inpaint["work"] / "colour_filled.tif", result
    layer, source = result["layer"], qgis_inpaint["input"]
    assert layer["valid"] and layer["in_project"] and layer["bands"] in (3, 4)  # RGB (+ alpha: the input had a nodata mask)
    assert layer["crs"] == source["crs"] and layer["extent"] == pytest.approx(source["extent"], abs=1e-6)
    with rasterio.open(result["output"]) as dst:
        assert (dst.dataset_mask()[HOLE] > 0).all()
        rgb = dst.read([1, 2, 3])[(slice(None), *HOLE)].astype(int)
    assert np.abs(rgb[0] - rgb[2]).mean() > 1  # colour inside the filled hole
    assert qgis_inpaint["leftovers"] == []  # no temp files (the filled copy, exports) left behind


def test_dialog_has_fill_nodata_and_style_and_passes_them_on(qgis_inpaint):
    dialog = qgis_inpaint["dialog"]
    assert dialog["default_fill_nodata"] is False and dialog["default_style"] is None
    assert dialog["fill_nodata"] is True and dialog["style"] == str(qgis_inpaint["mask"])
    assert dialog["request"]["command"] == "colorize"
    options = dialog["request"]["options"]
    assert options["fill_nodata"] is True and options["style"] == str(qgis_inpaint["mask"])


def test_dialog_and_algorithms_offer_the_cli_devices(qgis_inpaint):
    from geocolor.commands.options import DEVICES

    assert qgis_inpaint["dialog"]["devices"] == list(DEVICES)
    assert qgis_inpaint["device_options"] == {"geocolor:colorize_raster": list(DEVICES), "geocolor:inpaint_raster": list(DEVICES)}
