"""End to end: ``geocolor mosaic IN OUT`` on real imagery, then reopen OUT and check it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from skimage.color import rgb2lab

from geocolor.cli import cli
from geocolor.color import gray_to_lightness


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "geocolor.cli", *args], capture_output=True, text=True, timeout=300)


def check_output(out: Path, src: Path) -> tuple[np.ndarray, np.ndarray]:
    with rasterio.open(src) as s, rasterio.open(out) as o:
        assert (o.width, o.height) == (s.width, s.height)
        assert o.crs == s.crs
        assert o.transform.almost_equals(s.transform)
        assert o.count == 3 and o.dtypes == ("uint8",) * 3
        assert o.profile["tiled"] and o.compression is not None
        assert o.overviews(1), "a COG with overviews was expected"
        np.testing.assert_array_equal(o.dataset_mask() > 0, s.dataset_mask() > 0)
        return o.read(), s.read(1)


def test_uint8_twd97_keeps_luminance_and_adds_colour(gray_uint8_twd97, default_model, tmp_path):
    out = tmp_path / "out.tif"
    r = run_cli("mosaic", str(gray_uint8_twd97), str(out))
    assert r.returncode == 0, r.stderr
    rgb, gray = check_output(out, gray_uint8_twd97)
    lab = rgb2lab(np.moveaxis(rgb, 0, -1) / 255.0)
    diff = np.abs(lab[..., 0] - gray_to_lightness(gray / 255.0))
    assert diff.mean() < 0.3 and np.percentile(diff, 99.9) < 1.0
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    assert chroma.mean() > 3.0, "the output should be coloured, not gray"


def test_uint16_with_nodata_is_stretched_and_keeps_its_mask(uint16_nodata_utm, tiny_model, tmp_path):
    out = tmp_path / "out.tif"
    r = run_cli("mosaic", str(uint16_nodata_utm), str(out), "--model", str(tiny_model), "--tile", "256", "--overlap", "48")
    assert r.returncode == 0, r.stderr
    rgb, _ = check_output(out, uint16_nodata_utm)
    with rasterio.open(out) as o:
        mask = o.dataset_mask()
    assert (mask == 0).sum() > 1000
    assert rgb[:, mask == 0].max() == 0
    valid = rgb[:, mask > 0]
    assert valid.min() < 30 and valid.max() > 225, "uint16 values should be stretched to the full 8-bit range"


def test_no_crs_input_gives_no_crs_output(tiny_model, tmp_path):
    src = tmp_path / "plain.tif"
    with rasterio.open(src, "w", driver="GTiff", width=300, height=200, count=1, dtype="uint8") as d:
        d.write(np.random.default_rng(0).integers(0, 255, (1, 200, 300), dtype=np.uint8))
    out = tmp_path / "out.tif"
    r = run_cli("mosaic", str(src), str(out), "--model", str(tiny_model))
    assert r.returncode == 0, r.stderr
    with rasterio.open(out) as o:
        assert o.crs is None and (o.width, o.height) == (300, 200)


def test_rgb_input_is_reduced_to_luminance(tiny_model, tmp_path):
    from tests.conftest import shared

    src = shared("neon/OSBS_029.tif")
    out = tmp_path / "out.tif"
    r = run_cli("mosaic", str(src), str(out), "--model", str(tiny_model))
    assert r.returncode == 0, r.stderr
    with rasterio.open(src) as s, rasterio.open(out) as o:
        lin = rgb2lab(np.moveaxis(s.read(), 0, -1))[..., 0]
        lout = rgb2lab(np.moveaxis(o.read(), 0, -1))[..., 0]
        valid = s.dataset_mask() > 0
    assert np.abs(lin - lout)[valid].mean() < 0.5


def test_existing_output_is_not_overwritten_without_flag(gray_uint8_twd97, tiny_model, tmp_path):
    out = tmp_path / "out.tif"
    out.write_bytes(b"precious")
    r = run_cli("mosaic", str(gray_uint8_twd97), str(out), "--model", str(tiny_model))
    assert r.returncode != 0 and "--overwrite" in r.stderr
    assert out.read_bytes() == b"precious"
    r = run_cli("-q", "mosaic", str(gray_uint8_twd97), str(out), "--model", str(tiny_model), "--overwrite")
    assert r.returncode == 0, r.stderr
    with rasterio.open(out) as o:
        assert o.count == 3


def test_help_is_fast_and_lists_commands():
    r = CliRunner().invoke(cli, ["--help"])
    assert r.exit_code == 0 and "mosaic" in r.output
    code = "import sys, geocolor.cli; sys.exit(int('torch' in sys.modules or 'rasterio' in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0, "geocolor --help must not import torch/rasterio"
    assert CliRunner().invoke(cli, ["--version"]).output.strip().endswith("0.1.0")


@pytest.mark.parametrize("shape_kind", ["text", "truncated", "zero_bands", "four_bands", "bad_out_dir", "foreign_model", "missing"])
def test_bad_input_gives_one_line_and_no_output(shape_kind, gray_uint8_twd97, tiny_model, tmp_path):
    src, out = gray_uint8_twd97, tmp_path / "out.tif"
    extra: list[str] = ["--model", str(tiny_model)]
    if shape_kind == "text":
        src = tmp_path / "notes.tif"
        src.write_text("this is not a raster\n")
    elif shape_kind == "truncated":
        src = tmp_path / "cut.tif"
        with rasterio.open(gray_uint8_twd97) as s:
            prof = s.profile | {"tiled": True, "blockxsize": 128, "blockysize": 128, "compress": "deflate"}
            with rasterio.open(tmp_path / "whole.tif", "w", **prof) as d:
                d.write(s.read())
        data = (tmp_path / "whole.tif").read_bytes()
        src.write_bytes(data[: len(data) // 2])
    elif shape_kind == "zero_bands":
        src = tmp_path / "empty.vrt"
        src.write_text('<VRTDataset rasterXSize="100" rasterYSize="100"></VRTDataset>')
    elif shape_kind == "four_bands":
        from tests.conftest import shared

        src = shared("naip/m_4709963_se_14_1_20200831.tif")
    elif shape_kind == "bad_out_dir":
        out = tmp_path / "no" / "such" / "folder" / "out.tif"
    elif shape_kind == "foreign_model":
        import torch

        torch.save({"weight": torch.zeros(3)}, tmp_path / "foreign.pt")
        extra = ["--model", str(tmp_path / "foreign.pt")]
    elif shape_kind == "missing":
        src = tmp_path / "nope.tif"
    r = run_cli("mosaic", str(src), str(out), *extra)
    assert r.returncode != 0
    lines = [line for line in r.stderr.strip().split("\n") if line.strip()]  # \r: progress bar redraws
    assert len(lines) == 1 and lines[0].split("\r")[-1].startswith("Error:"), r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()
    assert not [p for p in out.parent.glob(".*tmp*")] if out.parent.exists() else True


def test_four_band_input_works_with_band_choice(tiny_model, tmp_path):
    from tests.conftest import shared

    src = shared("naip/m_4709963_se_14_1_20200831.tif")
    out = tmp_path / "out.tif"
    r = run_cli("mosaic", str(src), str(out), "--model", str(tiny_model), "--bands", "1,2,3")
    assert r.returncode == 0, r.stderr
    with rasterio.open(out) as o:
        assert o.crs.to_epsg() == 26914


@pytest.mark.parametrize("option", [["--dodge", "nan"], ["--dodge", "1e12"], ["--tile", "0"], ["--tile", "102400"]])
def test_nonsense_numbers_are_refused_in_one_line(gray_uint8_twd97, tmp_path, option):
    r = run_cli("mosaic", str(gray_uint8_twd97), str(tmp_path / "out.tif"), *option)
    assert r.returncode == 2 and "Invalid value" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out.tif").exists()


def test_nan_and_inf_pixels_of_a_float_input_are_nodata(tiny_model, tmp_path):
    from tests.conftest import INF_BLOCK, NAN_BLOCK, float_with_nonfinite

    src = float_with_nonfinite(tmp_path / "float.tif", size=300)
    out = tmp_path / "out.tif"
    r = run_cli("mosaic", str(src), str(out), "--model", str(tiny_model), "--tile", "256")
    assert r.returncode == 0, r.stderr
    with rasterio.open(out) as o:
        mask = o.dataset_mask()
    assert (mask[NAN_BLOCK] == 0).all() and (mask[INF_BLOCK] == 0).all()  # nodata, not painted black or white
    assert (mask[150:250, 150:250] == 255).all()


def test_a_file_name_that_is_not_utf8_is_one_line(gray_uint8_twd97, tmp_path):
    import os
    import shutil

    name = os.fsdecode(b"caf\xe9.tif")  # Latin-1 bytes, as old archives name their scans
    shutil.copy(gray_uint8_twd97, tmp_path / name)
    r = subprocess.run([sys.executable, "-m", "geocolor.cli", "mosaic", name, "out.tif"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "is not valid UTF-8; rename the file" in r.stderr and "Traceback" not in r.stderr
