"""``geocolor inpaint`` and ``mosaic --fill-nodata`` on real rasters: only hole pixels change, georeferencing
is kept, writes are atomic, too-large holes are reported, wrong model kinds are refused."""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from geocolor.cli import cli
from geocolor.errors import ModelFileError, OutputExistsError
from geocolor.inpaint import inpaint
from geocolor.inpaint.engine import Layout, fillable
from tests.conftest import write_tif
from tests.inpaint.conftest import holes_of


def read(path):
    with rasterio.open(path) as ds:
        return ds.read(), ds.profile, ds.dataset_mask()


def test_only_hole_pixels_change_and_georeferencing_is_kept(naip_gray_with_holes, tiny_inpaint_model, tmp_path, caplog):
    out = tmp_path / "out.tif"
    with caplog.at_level(logging.WARNING):
        result = inpaint(naip_gray_with_holes, out, model=tiny_inpaint_model, device="cpu", show_progress=False)
    src, sp, _ = read(naip_gray_with_holes)
    dst, dp, dmask = read(out)
    assert (dp["crs"], dp["transform"], dp["nodata"], dp["dtype"], dp["count"]) == (sp["crs"], sp["transform"], 0, "uint8", 1)
    hole = src[0] == 0
    np.testing.assert_array_equal(dst[0][~hole], src[0][~hole])  # nothing outside the holes moved
    assert (dst[0, 120:144, 150:180] > 0).all(), "the box is filled (and not with the nodata value)"
    assert (dst[0, :, :20] == 0).all() and (dmask[:, :20] == 0).all(), "the collar (260 px tall) stays nodata"
    assert result.hole_pixels == hole.sum()
    assert result.unfilled_pixels == 20 * 260 and result.filled_pixels == hole.sum() - 20 * 260
    assert "left unfilled" in caplog.text and "left unfilled" in result.summary()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"], "no temp files are left behind"


def test_a_larger_max_hole_fills_more(naip_gray_with_holes, tiny_inpaint_model, tmp_path):
    small = inpaint(naip_gray_with_holes, tmp_path / "a.tif", model=tiny_inpaint_model, device="cpu", max_hole=0.1, show_progress=False)
    assert small.unfilled_pixels > 20 * 260  # the 24 x 30 box is wider than 13 px
    src, _, _ = read(naip_gray_with_holes)
    dst, _, _ = read(tmp_path / "a.tif")
    assert (dst[0, 120:144, 150:180] == 0).all(), "an unfillable hole is left as it was, not smeared"


def test_mask_raster_says_where_to_fill(gray_uint8_twd97, tiny_inpaint_model, tmp_path):
    with rasterio.open(gray_uint8_twd97) as ds:
        mask = np.zeros((1, ds.height, ds.width), np.uint8)
        crs, transform = ds.crs.to_string(), ds.transform
    mask[0, 200:203, 50:400] = 1  # a scratch
    mask[0, 300:310, 500:512] = 255  # a blotch
    mask_path = write_tif(tmp_path / "damage.tif", mask, crs, transform)
    out = tmp_path / "out.tif"
    result = inpaint(gray_uint8_twd97, out, mask=mask_path, model=tiny_inpaint_model, device="cpu", show_progress=False)
    src, sp, _ = read(gray_uint8_twd97)
    dst, dp, _ = read(out)
    damaged = mask[0] > 0
    assert result.filled_pixels == damaged.sum() and result.unfilled_pixels == 0
    np.testing.assert_array_equal(dst[0][~damaged], src[0][~damaged])
    assert (dst[0][damaged] != src[0][damaged]).mean() > 0.5
    assert (dp["crs"], dp["transform"]) == (sp["crs"], sp["transform"])


def test_mask_of_another_size_is_refused(gray_uint8_twd97, naip_gray_with_holes, tiny_inpaint_model, tmp_path):
    from geocolor.errors import InputError

    with pytest.raises(InputError, match="must match"):
        inpaint(gray_uint8_twd97, tmp_path / "o.tif", mask=naip_gray_with_holes, model=tiny_inpaint_model, device="cpu")
    assert not list(tmp_path.iterdir())


def test_no_overwrite_without_flag_and_atomic_replace(naip_gray_with_holes, tiny_inpaint_model, tmp_path):
    out = tmp_path / "out.tif"
    out.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        inpaint(naip_gray_with_holes, out, model=tiny_inpaint_model, device="cpu")
    assert out.read_bytes() == b"precious"
    r = CliRunner().invoke(cli, ["-q", "inpaint", str(naip_gray_with_holes), str(out), "--model", str(tiny_inpaint_model),
                                 "--device", "cpu", "--overwrite"])
    assert r.exit_code == 0, r.output
    assert "left unfilled" in r.output  # the summary line reports unfilled holes even with -q
    with rasterio.open(out) as ds:
        assert ds.count == 1 and ds.overviews(1) == [] or ds.compression is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.tif"]


def test_cli_errors_are_one_line(naip_gray_with_holes, tiny_model, tmp_path):
    """A colorization model given to inpaint is a clear one-line error (and nothing is written)."""
    out = tmp_path / "out.tif"
    r = subprocess.run([sys.executable, "-m", "geocolor.cli", "inpaint", str(naip_gray_with_holes), str(out), "--model", str(tiny_model)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == (
        "Error: tiny.pt is a colorize model, not an inpainting model; pass an inpainting model with --model "
        "(or none, for the shipped one)")
    assert not out.exists()


def test_inpainting_model_for_colorization_is_refused(tiny_inpaint_model):
    from geocolor.models import load

    with pytest.raises(ModelFileError, match="model for inpaint, not a colorization model"):
        load(tiny_inpaint_model, device="cpu")


def test_mosaic_fill_nodata_leaves_no_holes_where_it_could_fill(naip_gray_with_holes, tiny_model, tiny_inpaint_model, tmp_path):
    out = tmp_path / "colour.tif"
    r = CliRunner().invoke(cli, ["-q", "mosaic", str(naip_gray_with_holes), str(out), "--model", str(tiny_model), "--tile", "256",
                                 "--fill-nodata", "--inpaint-model", str(tiny_inpaint_model), "--device", "cpu"])
    assert r.exit_code == 0, r.output
    holes = holes_of(naip_gray_with_holes)
    with rasterio.open(out) as ds, rasterio.open(naip_gray_with_holes) as src:
        mask, rgb = ds.dataset_mask(), ds.read()
        assert (ds.crs, ds.transform, ds.count) == (src.crs, src.transform, 3)
        assert ds.tags()["GEOCOLOR_SOURCE"] == f"{naip_gray_with_holes.name} (nodata inpainted)"
    fillable_holes = holes.copy()
    fillable_holes[:, :20] = False
    assert fillable_holes.sum() > 600
    assert (mask[fillable_holes] == 255).all(), "filled holes are valid pixels in the colour output"
    assert rgb[:, 120:144, 150:180].max() > 0
    assert (mask[:, :20] == 0).all(), "the too-large collar stays nodata"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["colour.tif"], "the filled temp file is removed"


def test_layout_cores_cover_the_raster_once_with_context():
    lay = Layout(width=300, height=170, tile=128, margin=32)
    seen = np.zeros((170, 300), int)
    for (r0, c0, r1, c1), (wr0, wc0, wr1, wc1) in lay.windows():
        seen[r0:r1, c0:c1] += 1
        assert wr1 - wr0 == 128 and wc1 - wc0 == 128
        assert wr0 <= r0 and r1 <= wr1 and wc0 <= c0 and c1 <= wc1
        assert (r0 - wr0 >= 32 or wr0 == 0) and (wr1 - r1 >= 32 or wr1 == 170)
    assert (seen == 1).all()


def test_fillable_judges_each_hole_by_its_depth():
    hole = np.zeros((60, 60), bool)
    hole[5:15, 5:15] = True  # 10 x 10 box: depth ~5
    hole[30:32, 2:58] = True  # long thin scratch: depth 1
    hole[40:60, 40:60] = True  # 20 x 20 block at the window's edge: depth ~20
    ok = fillable(hole, max_depth=6)
    assert ok[5:15, 5:15].all() and ok[30:32, 2:58].all() and not ok[40:60, 40:60].any()
    assert not fillable(hole, max_depth=4)[5:15, 5:15].any()


def test_shipped_model_is_small_trained_and_the_default(tmp_path):
    """geocolor/weights/inpaint.pt: <= 8 MB, gray, and on a held-out NAIP chip (right 30 % of the scene,
    never trained on) it fills a 64 x 64 hole better than the hole's mean border value would."""
    from geocolor.inpaint.model import DEFAULT_INPAINT_MODEL, load_inpainter
    from tests.conftest import shared

    assert DEFAULT_INPAINT_MODEL.stat().st_size <= 8 * 2**20
    inp = load_inpainter(None, device="cpu")
    assert inp.channels == 1 and inp.tile_size == 256 and inp.metadata["task"] == "inpaint"
    with rasterio.open(shared("naip/m_4709963_se_14_1_20200831.tif")) as ds:
        data = ds.read([2], window=((300, 556), (934 - 260, 934 - 4)))
        crs, transform = ds.crs.to_string(), ds.window_transform(((300, 556), (934 - 260, 934 - 4)))
    data[data == 0] = 1
    truth = data.copy()
    data[0, 96:160, 96:160] = 0
    src = write_tif(tmp_path / "in.tif", data, crs, transform, nodata=0)
    result = inpaint(src, tmp_path / "out.tif", device="cpu", show_progress=False)  # no model: the shipped one
    assert result.filled_pixels == 64 * 64 and result.unfilled_pixels == 0
    out, _, _ = read(tmp_path / "out.tif")
    hole = np.s_[0, 96:160, 96:160]
    border = np.concatenate([truth[0, 95, 96:160], truth[0, 160, 96:160], truth[0, 96:160, 95], truth[0, 96:160, 160]]).astype(float)
    err_model = np.mean((out[hole].astype(float) - truth[hole]) ** 2)
    err_flat = np.mean((border.mean() - truth[hole].astype(float)) ** 2)
    assert err_model < err_flat, (err_model, err_flat)


def test_colour_model_fills_all_three_bands_of_an_rgb_raster(tmp_path):
    """A 3-channel model on real colour (NEON OSBS, EPSG:32617): the masked pixels of every band change, nothing else."""
    from tests.conftest import shared
    from tests.inpaint.conftest import make_tiny_inpaint_model

    model = make_tiny_inpaint_model(tmp_path / "rgb.pt", channels=3)
    src = shared("neon/OSBS_029.tif")
    with rasterio.open(src) as ds:
        mask = np.zeros((1, ds.height, ds.width), np.uint8)
        crs, transform, before = ds.crs.to_string(), ds.transform, ds.read()
    mask[0, 150:170, 200:230] = 1
    mask_path = write_tif(tmp_path / "m.tif", mask, crs, transform)
    result = inpaint(src, tmp_path / "o.tif", mask=mask_path, model=model, device="cpu", show_progress=False)
    after, prof, _ = read(tmp_path / "o.tif")
    hole = mask[0] > 0
    assert result.filled_pixels == hole.sum() and prof["count"] == 3 and prof["crs"] == crs
    np.testing.assert_array_equal(after[:, ~hole], before[:, ~hole])
    assert all((after[b][hole] != before[b][hole]).mean() > 0.5 for b in range(3))


def test_thin_damage_is_filled_by_biharmonic_and_wide_holes_by_the_network(gray_uint8_twd97, tiny_inpaint_model, tmp_path):
    """Scratches go to the classical fill (smooth, close to the truth); the wider blotch is the network's either way."""
    with rasterio.open(gray_uint8_twd97) as ds:
        mask = np.zeros((1, ds.height, ds.width), np.uint8)
        crs, transform = ds.crs.to_string(), ds.transform
    mask[0, 200:202, 50:400] = 1  # a 2 px scratch
    mask[0, 300:316, 500:516] = 1  # a 16 px blotch: deeper than --thin
    mask_path = write_tif(tmp_path / "damage.tif", mask, crs, transform)
    runs = {}
    for thin in (0.0, 3.0):
        out = tmp_path / f"thin{thin:g}.tif"
        inpaint(gray_uint8_twd97, out, mask=mask_path, model=tiny_inpaint_model, device="cpu", thin=thin, method="network",
                show_progress=False)
        runs[thin] = read(out)[0][0].astype(float)
    truth = read(gray_uint8_twd97)[0][0].astype(float)
    scratch = np.zeros_like(truth, bool)
    scratch[200:202, 50:400] = True
    err = {t: np.abs(img - truth)[scratch].mean() for t, img in runs.items()}
    assert err[3.0] < 10 and err[3.0] < 0.5 * err[0.0], err
    np.testing.assert_array_equal(runs[3.0][300:316, 500:516], runs[0.0][300:316, 500:516])


def test_biharmonic_fill_keeps_known_pixels_and_is_exact_on_a_plane():
    from geocolor.inpaint.classical import biharmonic_fill

    yy, xx = np.mgrid[0:40, 0:50] / 60.0
    bands = np.stack([0.2 + 0.5 * xx + 0.2 * yy, 0.9 - 0.4 * yy]).astype(np.float32)
    hole = np.zeros((40, 50), bool)
    hole[10:12, 5:45] = True
    hole[30, 20] = True
    out = biharmonic_fill(bands, hole)
    np.testing.assert_array_equal(out[:, ~hole], bands[:, ~hole])
    np.testing.assert_allclose(out[:, hole], bands[:, hole], atol=1e-3)


def test_nan_and_inf_pixels_of_a_float_input_are_holes_to_fill(tiny_inpaint_model, tmp_path):
    from tests.conftest import NAN_BLOCK, float_with_nonfinite

    src = float_with_nonfinite(tmp_path / "float.tif")
    result = inpaint(src, tmp_path / "out.tif", model=tiny_inpaint_model, device="cpu", show_progress=False)
    with rasterio.open(tmp_path / "out.tif") as o:
        out = o.read(1)
    assert result.hole_pixels == 30 * 30 + 10 * 20 and result.filled_pixels == result.hole_pixels
    assert np.isfinite(out).all() and 100.0 <= out[NAN_BLOCK].min() and out[NAN_BLOCK].max() <= 3000.0


def test_method_decides_how_wide_holes_are_filled_and_the_summary_says_which(naip_gray_with_holes, tiny_inpaint_model, tmp_path):
    src = read(naip_gray_with_holes)[0][0]
    hole = src == 0
    outs = {}
    for method in ("network", "biharmonic", "auto"):
        out = tmp_path / f"{method}.tif"
        result = inpaint(naip_gray_with_holes, out, model=tiny_inpaint_model, device="cpu", method=method, show_progress=False)
        outs[method] = read(out)[0][0]
        np.testing.assert_array_equal(outs[method][~hole], src[~hole])
        counts = result.methods.holes
        assert counts["thin"] == 3, counts  # the three dust specks, always biharmonic
        assert sum(counts[k] for k in ("network", "biharmonic", "blend")) == 1, counts  # the 24 x 30 box, counted once
        assert "holes filled:" in result.summary()
    assert outs["biharmonic"][120:144, 150:180].std() < outs["network"][120:144, 150:180].std() + 50
    assert not np.array_equal(outs["network"][120:144, 150:180], outs["biharmonic"][120:144, 150:180])
    box = {m: o[120:144, 150:180] for m, o in outs.items()}
    assert any(np.array_equal(box["auto"], box[m]) for m in ("network", "biharmonic")) or \
        (np.minimum(box["network"], box["biharmonic"]).astype(int) - 1 <= box["auto"]).all()
    res = CliRunner().invoke(cli, ["inpaint", str(naip_gray_with_holes), str(tmp_path / "cli.tif"), "--model", str(tiny_inpaint_model),
                                   "--method", "biharmonic", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    np.testing.assert_array_equal(read(tmp_path / "cli.tif")[0][0], outs["biharmonic"])
    res = CliRunner().invoke(cli, ["inpaint", str(naip_gray_with_holes), str(tmp_path / "x.tif"), "--method", "magic"])
    assert res.exit_code != 0 and "magic" in res.output
