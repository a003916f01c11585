"""``tone_target``: the network sees the input with a target tone; the output keeps the input's own L*."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from geocolor.color import rgb_to_lab
from geocolor.errors import InputError
from geocolor.mosaic import colorize
from geocolor.mosaic.tone import TonedPredictor, check_tone_target
from geocolor.style.tone import N_QUANTILES, quantiles
from tests.conftest import write_tif

SAMPLE = Path(__file__).resolve().parents[2] / "geocolor" / "data" / "sample_gray_uint16.tif"


def lab_of(path):
    with rasterio.open(path) as ds:
        return np.asarray(rgb_to_lab(ds.read().transpose(1, 2, 0).astype(np.float32) / 255))


@pytest.fixture(scope="module")
def gray_pair(tmp_path_factory):
    """A real photo's gray (uint8) and the same ground printed darker and flatter (another exposure)."""
    with rasterio.open(SAMPLE) as ds:
        data = ds.read(1, window=((0, 384), (0, 384))).astype(np.float64)
        crs, transform = ds.crs.to_string(), ds.window_transform(((0, 384), (0, 384)))
    lo, hi = np.percentile(data, (0.5, 99.5))
    gray = np.clip((data - lo) / (hi - lo), 0, 1)
    tmp = tmp_path_factory.mktemp("tone")
    bright = write_tif(tmp / "bright.tif", (gray * 254 + 1).astype(np.uint8)[None], crs, transform)
    dark = write_tif(tmp / "dark.tif", ((gray ** 1.8) * 150 + 20).astype(np.uint8)[None], crs, transform)
    return bright, dark


def network_tone(path, tile: int) -> np.ndarray:
    """The L* quantiles of ``path`` as the mosaic's network sees it."""
    from geocolor.raster import open_raster, plan_input
    from geocolor.style.apply import lightness_sample

    with open_raster(str(path)) as ds:
        return lightness_sample(ds, plan_input(ds, None, (0.5, 99.5)), tile)


def test_a_darker_print_matched_to_the_brighter_ones_tone_gets_its_colours(gray_pair, default_model, tmp_path):
    bright, dark = gray_pair
    common = {"model": default_model, "show_progress": False, "cog": False, "precision": "fp32", "engine": "torch"}
    colorize(bright, tmp_path / "bright.tif", **common)
    colorize(dark, tmp_path / "dark.tif", **common)
    target = tuple(network_tone(bright, 256))
    colorize(dark, tmp_path / "dark_toned.tif", tone_target=target, **common)
    ref, plain, toned = (lab_of(tmp_path / f"{n}.tif") for n in ("bright", "dark", "dark_toned"))
    err_plain = np.abs(plain[..., 1:] - ref[..., 1:]).mean()
    err_toned = np.abs(toned[..., 1:] - ref[..., 1:]).mean()
    assert err_toned < 0.7 * err_plain, (err_toned, err_plain)  # measured: 1.02 vs 1.80 (shipped model)
    # the output keeps the dark print's own lightness
    assert np.abs(toned[..., 0] - plain[..., 0]).mean() < 0.6
    with rasterio.open(tmp_path / "dark_toned.tif") as ds:
        assert "GEOCOLOR_TONE" in ds.tags()


def test_the_inputs_own_tone_as_target_changes_next_to_nothing(gray_pair, default_model, tmp_path):
    bright, _ = gray_pair
    common = {"model": default_model, "show_progress": False, "cog": False, "precision": "fp32", "engine": "torch"}
    colorize(bright, tmp_path / "plain.tif", **common)
    colorize(bright, tmp_path / "self.tif", tone_target=tuple(network_tone(bright, 256)), **common)
    assert np.abs(lab_of(tmp_path / "plain.tif")[..., 1:] - lab_of(tmp_path / "self.tif")[..., 1:]).mean() < 0.3


def test_bad_tone_targets_and_a_style_with_a_tone_target_are_refused_in_one_line(gray_pair, tiny_model, tmp_path):
    bright, _ = gray_pair
    good = quantiles(np.linspace(10, 90, 1000))
    assert check_tone_target(good).shape == (N_QUANTILES,)
    for bad in (good[:50], good[::-1], np.full(N_QUANTILES, np.nan), good + 20):
        with pytest.raises(InputError, match="tone target"):
            check_tone_target(bad)
    with pytest.raises(InputError, match="not both"):
        colorize(bright, tmp_path / "x.tif", model=tiny_model, show_progress=False, tone_target=tuple(good), style=str(bright))
    assert not (tmp_path / "x.tif").exists()


def test_the_toned_predictor_hands_the_curved_lightness_to_any_engine():
    class Recorder:
        metadata = {"name": "r"}
        engine, tile_size, tile_multiple, style_conditioned = "onnx", 64, 32, False

        def predict_array(self, lightness):
            self.seen = lightness
            return np.zeros((len(lightness), 2, *lightness.shape[2:]), np.float32)

    base = Recorder()
    curve = np.linspace(0.0, 100.0, 1001) * 0.5  # halves L*
    toned = TonedPredictor(base, curve)
    assert (toned.engine, toned.tile_size, toned.tile_multiple, toned.metadata) == ("onnx", 64, 32, {"name": "r"})
    toned.predict_array(np.full((1, 1, 64, 64), 80.0, np.float32))
    assert np.allclose(base.seen, 40.0)
