"""The shared raster layer: one-line errors for unusable files, percentiles of the valid pixels, band
choice, and the cleanup of temp files left by killed writers."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from affine import Affine

from geocolor import raster
from geocolor.errors import InputError
from geocolor.files import atomic_path
from tests.conftest import shared, write_tif

PAN = "spacenet_pan/sample_geotiff.tif"  # real 900 x 900 uint16 panchromatic, EPSG:32616


@pytest.mark.parametrize("content", [b"this is not a raster\n", b"II*\x00" + bytes(range(256)) * 4], ids=["text", "broken_tiff"])
def test_a_corrupt_file_is_a_one_line_input_error(tmp_path, content):
    path = tmp_path / "scan.tif"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        raster.open_raster(path)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{path} is not a raster GDAL can read (")
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no chained GDAL traceback


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(InputError, match=r"^input .*nowhere\.tif does not exist$"):
        raster.open_raster(tmp_path / "nowhere.tif")


def test_percentiles_of_a_real_raster():
    with raster.open_raster(shared(PAN)) as ds:
        data = ds.read(1)
        lo, hi = raster.band_percentiles(ds, (1,), (0.5, 99.5))  # 900 px: read whole, no decimation
        plan = raster.plan_input(ds)
        assert raster.decimated_shape(ds, 300) == (300, 300)
        lo_s, hi_s = raster.band_percentiles(ds, (1,), (0.5, 99.5), max_side=300)
    assert (lo, hi) == pytest.approx(tuple(np.percentile(data, (0.5, 99.5))))
    assert plan == raster.InputPlan((1,), lo, hi, False)
    assert lo_s == pytest.approx(lo, rel=0.1) and hi_s == pytest.approx(hi, rel=0.1)


def test_percentiles_leave_nodata_out(uint16_nodata_utm):
    with raster.open_raster(uint16_nodata_utm) as ds:
        data = ds.read(1)
        lo, hi = raster.band_percentiles(ds, (1,), (0.5, 99.5))
    valid = data[data != 0]
    assert 0 < valid.size < data.size
    assert (lo, hi) == pytest.approx(tuple(np.percentile(valid, (0.5, 99.5))))
    assert lo > np.percentile(data, 0.5)  # the collar's zeros would have pulled the low percentile down


def test_all_nodata_is_refused(tmp_path):
    path = write_tif(tmp_path / "empty.tif", np.zeros((1, 8, 8), np.uint16), "EPSG:32631",
                     Affine(10, 0, 0, 0, -10, 80), nodata=0)
    with raster.open_raster(path) as ds, pytest.raises(InputError, match="holds no valid pixels"):
        raster.band_percentiles(ds, (1,), (0.5, 99.5))


def test_bands_alpha_and_decimation(tmp_path):
    rgba = np.full((4, 10, 30), 255, np.uint8)
    path = write_tif(tmp_path / "rgba.tif", rgba, "EPSG:3857", Affine(1, 0, 0, 0, -1, 10), photometric="RGB", alpha="YES")
    with raster.open_raster(path) as ds:
        assert raster.alpha_band(ds) == 4 and raster.image_bands(ds) == [1, 2, 3]
        assert raster.plan_input(ds) == raster.InputPlan((1, 2, 3), 0.0, 255.0, True)
        assert raster.is_georeferenced(ds)
        assert raster.decimated_shape(ds, 1024) == (10, 30)
        assert raster.decimated_shape(ds, 7) == (2, 6)  # factor ceil(30 / 7) = 5
    with raster.open_raster(write_tif(tmp_path / "gray.tif", rgba[:1], None, None)) as ds:
        assert raster.alpha_band(ds) is None and raster.image_bands(ds) == [1] and not raster.is_georeferenced(ds)


def test_stale_temps_of_dead_writers_are_removed_and_nothing_else(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    dst = tmp_path / "out.tif"
    names = {
        f".out.tif.{dead_pid}.raw.tif": False,
        f".out.tif.{dead_pid}.tmp.tif": False,
        f".out.tif.{dead_pid}.tmp.tif.ovr": False,
        f".out.tif.{dead_pid}.raw.tif.aux.xml": False,
        f".out.tif.{os.getpid()}.raw.tif": True,  # this process: running
        ".out.tif.1.raw.tif": True,  # a process that runs (init)
        f".other.tif.{dead_pid}.raw.tif": True,  # another output's
        "out.tif": True,
    }
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    with atomic_path(dst) as tmp:  # the shared atomic writer's temp name never matches
        removed = raster.remove_stale_temps(dst)
        assert tmp.exists()
        tmp.write_bytes(b"new")
    assert sorted(p.name for p in removed) == sorted(n for n, keep in names.items() if not keep)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(n for n, keep in names.items() if keep)
    raw, tmp = raster.temp_paths(dst)
    assert (raw.name, tmp.name) == (f".out.tif.{os.getpid()}.raw.tif", f".out.tif.{os.getpid()}.tmp.tif")


def test_read_rgb_zeroes_nodata_as_training_reads_it(tmp_path):
    from geocolor.train.config import SourceConfig
    from geocolor.train.data import read_rgb as training_read_rgb

    with raster.open_raster(shared("naip/m_4709963_se_14_1_20200831.tif")) as ds:
        rgb = ds.read([1, 2, 3], window=((0, 64), (0, 96)))
    rgb[:, :10, :20] = 0  # a nodata corner
    path = write_tif(tmp_path / "rgb.tif", rgb, "EPSG:26914", Affine(1, 0, 0, 0, -1, 64), nodata=0)
    got = raster.read_rgb(path)
    assert got.shape == (64, 96, 3) and got.dtype == np.uint8
    assert (got[:10, :20] == 0).all() and np.array_equal(got[10:], np.moveaxis(rgb, 0, -1)[10:])
    assert np.array_equal(got, training_read_rgb(SourceConfig(str(path))))
    with pytest.raises(InputError, match="has 3 bands"):
        raster.read_rgb(path, (1, 2, 4))
