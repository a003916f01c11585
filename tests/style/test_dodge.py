"""Dodging (``geocolor.style.dodge``): the exposure field and ``mosaic --dodge`` end to end."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.windows import Window

from geocolor.cli import cli
from geocolor.color import rgb_to_lab
from geocolor.style.dodge import ExposureField, log_gain_field
from tests.style.test_style_mosaic import _gray_sheet, _same_ground_delta_e


def _vignette(h, w, strength=0.45):
    """Multiplicative fall-off of linear light towards the corners (1 at the centre)."""
    y, x = np.mgrid[0:h, 0:w]
    r2 = ((y - (h - 1) / 2) / (h / 2)) ** 2 + ((x - (w - 1) / 2) / (w / 2)) ** 2
    return 1.0 - strength * r2 / 2


def test_gain_field_undoes_a_vignette_and_ignores_nodata():
    rng = np.random.default_rng(0)
    texture = 55 + 10 * rng.standard_normal((200, 300))
    fall = _vignette(200, 300) ** (1 / 3)  # Y scaled by v scales L* + 16 by about v^(1/3)
    lum = (texture + 16) * fall - 16
    valid = np.ones_like(lum, bool)
    valid[:, :20] = False
    lum[~valid] = 0.0  # a nodata collar must not darken the field next to it
    gain = np.exp(log_gain_field(lum, valid, sigma=25))
    fixed = (lum + 16) * gain - 16
    corner, centre = fixed[valid][:2000].mean(), fixed[90:110, 140:160].mean()
    assert abs(corner - centre) < 0.3 * abs(lum[valid][:2000].mean() - lum[90:110, 140:160].mean())
    assert np.all(np.isfinite(gain)) and abs(np.log(gain[valid]).mean()) < 0.05  # the overall level is kept


def test_field_is_seamless_across_tiles():
    g = np.random.default_rng(1).normal(0, 0.1, (16, 24))
    field = ExposureField(g, scale=(10.0, 10.0), radius=30)
    whole = field.gain(0, 0, 160, 240)
    assert np.allclose(field.gain(37, 53, 64, 80), whole[53:117, 37:117], atol=1e-6)
    # smooth: bilinear between cells, so no pixel step is steeper than a cell's jump spread over its 10 px
    assert np.abs(np.diff(np.log(whole), axis=1)).max() <= np.abs(np.diff(g, axis=1)).max() / 10 + 1e-5
    lum = np.full((64, 80), 50.0, np.float32)
    assert field.apply(lum, 37, 53).shape == lum.shape


def test_dodge_makes_a_vignetted_frame_colour_like_its_neighbour(default_model, tmp_path):
    """Frame B (NAIP 2016) with strong light fall-off, overlapping clean frame A: with --dodge the model sees
    B evenly lit, so the shared ground comes out in A's colours; the output keeps B's own (vignetted) L*."""
    a = _gray_sheet(tmp_path, "frame_a.tif", "20160816", Window(654, 0, 256, 300))
    b = _gray_sheet(tmp_path, "frame_b.tif", "20160816", Window(654, 120, 256, 300))
    with rasterio.open(b, "r+") as ds:
        g = ds.read(1).astype(np.float64) / 255
        linear = np.where(g <= 0.04045, g / 12.92, ((g + 0.055) / 1.055) ** 2.4) * _vignette(300, 256, 0.8)
        out = np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.clip(linear, 0, 1) ** (1 / 2.4) - 0.055)
        ds.write(np.round(out * 255).astype(np.uint8)[None])
    results = {}
    for dodge in ("0", "30"):
        folder = tmp_path / f"dodge_{dodge}"
        r = CliRunner().invoke(cli, ["-q", "mosaic", str(a), str(b), "--out-dir", str(folder), "--style", "auto",
                                     "--model", str(default_model), "--dodge", dodge])
        assert r.exit_code == 0, r.output
        results[dodge] = _same_ground_delta_e(folder / a.name, folder / b.name, slice(120, 300), slice(0, 180))
        with rasterio.open(folder / b.name) as o, rasterio.open(b) as src:
            assert ("GEOCOLOR_DODGE" in o.tags()) == (dodge != "0")
            lum_out = rgb_to_lab(np.moveaxis(o.read(), 0, -1).astype(np.float32) / 255)[..., 0]
            lum_in = rgb_to_lab(np.repeat(src.read(1)[..., None], 3, -1).astype(np.float32) / 255)[..., 0]
            assert np.abs(lum_out - lum_in).mean() < 1.0
    assert results["30"] < 0.75 * results["0"], results


def test_negative_dodge_is_a_clear_error(tiny_model, gray_uint8_twd97, tmp_path):
    from geocolor.errors import InputError
    from geocolor.mosaic.engine import colorize

    with pytest.raises(InputError, match="--dodge"):
        colorize(gray_uint8_twd97, tmp_path / "x.tif", model=tiny_model, dodge=-5, show_progress=False)
    assert not (tmp_path / "x.tif").exists()
