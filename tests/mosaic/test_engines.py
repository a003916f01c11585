"""Mosaic on each engine: the onnx engine end to end (and without torch), agreement with torch, the direct writer."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import rasterio

from geocolor.mosaic.engine import colorize
from tests.conftest import REPO, make_tiny_model
from tests.mosaic.test_mosaic_cli import check_output, run_cli

pytest.importorskip("onnxruntime")

# Runs geocolor's CLI with ``import torch`` made impossible, as where only geocolor[onnx] is installed,
# then says whether any torch module got loaded anyway.
NO_TORCH = """
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError(f"torch is not installed here ({name})")
        return None
sys.meta_path.insert(0, NoTorch())
from geocolor.cli import main
sys.argv = ["geocolor", *sys.argv[1:]]
try:
    main()
finally:
    print("TORCH LOADED" if any(m.split(".")[0] == "torch" for m in sys.modules) else "NO TORCH", file=sys.stderr)
"""


def run_without_torch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_TORCH, *args], capture_output=True, text=True, timeout=300, cwd=REPO)


def test_onnx_engine_end_to_end_keeps_crs_transform_and_nodata(uint16_nodata_utm, tmp_path):
    out = tmp_path / "out.tif"
    r = run_cli("mosaic", str(uint16_nodata_utm), str(out), "--engine", "onnx", "--threads", "1")
    assert r.returncode == 0, r.stderr
    rgb, _ = check_output(out, uint16_nodata_utm)
    with rasterio.open(out) as o:
        mask = o.dataset_mask()
        assert o.tags()["GEOCOLOR_MODEL"] == "default_model"
    assert (mask == 0).sum() > 1000 and rgb[:, mask == 0].max() == 0
    assert np.ptp(rgb[:, mask > 0].astype(int), axis=0).mean() > 2, "the output should be coloured, not gray"


def test_onnx_and_torch_engines_agree_within_one_gray_level(gray_uint8_twd97, tmp_path):
    outs = {}
    for engine in ("onnx", "torch"):
        outs[engine] = tmp_path / f"{engine}.tif"
        r = run_cli("mosaic", str(gray_uint8_twd97), str(outs[engine]), "--engine", engine, "--precision", "fp32" if engine == "torch" else "auto",
                    "--threads", "1")
        assert r.returncode == 0, r.stderr
    with rasterio.open(outs["onnx"]) as a, rasterio.open(outs["torch"]) as b:
        diff = np.abs(a.read().astype(int) - b.read().astype(int))
    assert diff.max() <= 1, f"{(diff > 1).sum()} values differ by more than one gray level"


def test_mosaic_and_inpaint_run_where_torch_cannot_be_imported(uint16_nodata_utm, tmp_path):
    out = tmp_path / "colour.tif"
    r = run_without_torch("mosaic", str(uint16_nodata_utm), str(out), "--threads", "1")  # --engine auto: onnx, as torch is missing
    assert r.returncode == 0 and "NO TORCH" in r.stderr, r.stderr
    check_output(out, uint16_nodata_utm)
    filled = tmp_path / "filled.tif"
    r = run_without_torch("inpaint", str(uint16_nodata_utm), str(filled), "--engine", "onnx", "--threads", "1")
    assert r.returncode == 0 and "NO TORCH" in r.stderr, r.stderr
    with rasterio.open(filled) as f, rasterio.open(uint16_nodata_utm) as s:
        assert f.crs == s.crs and f.transform == s.transform and f.nodata == s.nodata
    r = run_without_torch("mosaic", str(uint16_nodata_utm), str(tmp_path / "x.tif"), "--engine", "torch")
    assert r.returncode == 1 and "geocolor[torch]" in r.stderr and r.stderr.startswith("Error: "), r.stderr


def test_style_needs_the_torch_engine(gray_uint8_twd97, tmp_path):
    r = run_cli("mosaic", str(gray_uint8_twd97), str(tmp_path / "o.tif"), "--engine", "onnx", "--model",
                str(REPO / "geocolor/weights/default.onnx"), "--style", "auto")
    assert r.returncode != 0 and "Error" in r.stderr


def test_direct_writer_equals_the_strict_cog_path(uint16_nodata_utm, tmp_path):
    """Rows written straight into the compressed file (and overviews added in place) give the same
    pixels and mask as the raw temp file + COG copy."""
    from geocolor.models import load

    translator = load(make_tiny_model(tmp_path / "tiny.pt"), device="cpu")
    outs = []
    for strict in (False, True):
        outs.append(tmp_path / f"out_{strict}.tif")
        colorize(uint16_nodata_utm, outs[-1], translator=translator, strict_cog=strict, overlap=40, show_progress=False)
    with rasterio.open(outs[0]) as a, rasterio.open(outs[1]) as b:
        np.testing.assert_array_equal(a.read(), b.read())
        np.testing.assert_array_equal(a.dataset_mask(), b.dataset_mask())
        assert a.overviews(1) == b.overviews(1) and a.overviews(1)
        assert a.crs == b.crs and a.transform == b.transform and a.tags()["GEOCOLOR_MODEL"] == b.tags()["GEOCOLOR_MODEL"]
        assert a.profile["blockxsize"] == 512 and a.compression == b.compression


def test_gdal_cache_is_given_in_megabytes():
    from geocolor.raster import gdal_env

    assert gdal_env(64).options["GDAL_CACHEMAX"] == 64 * 2**20
