"""The film degradation model: deterministic for a seed, and each effect moves the statistics its way."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage

from geocolor.dataset.config import DatasetConfig, FilmConfig, config_from_dict, validate
from geocolor.dataset.film import EFFECTS, apply_effect, degrade
from geocolor.errors import ConfigError
from tests.dataset.conftest import clean_chips


def hf_energy(img: np.ndarray) -> float:
    """Mean squared Laplacian: the energy of the finest detail (and of noise)."""
    return float(np.mean(ndimage.laplace(img.astype(np.float64)) ** 2))


def contrast(img: np.ndarray) -> float:
    return float(img.astype(np.float64).std())


@pytest.fixture(scope="module")
def chips(naip) -> list[np.ndarray]:
    return clean_chips(naip)


def test_degrade_is_deterministic_for_seed_and_chip(chips):
    cfg = FilmConfig()
    a = degrade(chips[0], cfg, seed=7, key="chip_a")
    assert np.array_equal(a, degrade(chips[0], cfg, seed=7, key="chip_a"))
    assert not np.array_equal(a, degrade(chips[0], cfg, seed=8, key="chip_a"))
    assert not np.array_equal(a, degrade(chips[0], cfg, seed=7, key="chip_b"))
    assert a.dtype == np.uint8 and a.shape == chips[0].shape


def test_switching_one_effect_off_leaves_the_others_draws_alone(chips):
    """Each effect has its own generator: turning dust off must not change the grain that is drawn."""
    def only(names: list[str]) -> FilmConfig:
        return dataclasses.replace(FilmConfig(), order=names)

    cfg_grain = only(["grain"])
    cfg_grain.grain.p = 1.0
    assert np.array_equal(degrade(chips[1], cfg_grain, 3, "k"), degrade(chips[1], only(["grain"]), 3, "k"))
    with_dust = only(["dust", "grain"])
    with_dust.dust.p = 0.0
    assert np.array_equal(degrade(chips[1], with_dust, 3, "k"), degrade(chips[1], cfg_grain, 3, "k"))


def test_grain_raises_high_frequency_energy(chips):
    cfg = FilmConfig()
    for i, chip in enumerate(chips):
        grainy = apply_effect(chip, "grain", cfg, seed=i)  # default ranges: any draw adds fine detail
        assert hf_energy(grainy) > 1.05 * hf_energy(chip)
        assert abs(float(grainy.mean()) - float(chip.mean())) < 3  # noise, not a brightness change
    cfg.grain.amount, cfg.grain.size = (0.04, 0.04), (0.5, 0.5)
    assert all(hf_energy(apply_effect(c, "grain", cfg)) > 2 * hf_energy(c) for c in chips)


def test_fading_lowers_contrast_and_lifts_blacks(chips):
    cfg = FilmConfig()
    for i, chip in enumerate(chips):
        faded = apply_effect(chip, "fade", cfg, seed=i)
        assert contrast(faded) < 0.95 * contrast(chip)
        assert faded.min() >= round(255 * cfg.fade.black[0]) - 1
        assert faded.max() <= round(255 * cfg.fade.white[1]) + 1


def test_blur_lowers_high_frequency_energy(chips):
    cfg = FilmConfig()
    cfg.blur.sigma = (1.0, 1.0)
    for i, chip in enumerate(chips):
        assert hf_energy(apply_effect(chip, "blur", cfg, seed=i)) < 0.7 * hf_energy(chip)


def test_vignetting_darkens_away_from_the_frame_centre():
    flat = np.full((128, 128), 200, np.uint8)
    cfg = FilmConfig()
    cfg.vignette.offset = 0.0  # frame centre at the chip centre
    cfg.vignette.strength = (0.5, 0.5)
    out = apply_effect(flat, "vignette", cfg).astype(int)
    assert out[64, 64] >= 199
    assert out[0, 0] < out[32, 32] < out[64, 64]
    assert out[0, 0] == out[127, 127] == out[0, 127]


def test_dust_and_scratches_touch_few_pixels_strongly(chips):
    cfg = FilmConfig()
    cfg.dust.count = (40, 40)
    cfg.scratch.count = (2, 2)
    for name in ("dust", "scratch"):
        out = apply_effect(chips[2], name, cfg, seed=5).astype(int)
        changed = np.abs(out - chips[2]) > 8
        assert 0 < changed.mean() < 0.1, name


def test_scan_adds_jpeg_blocking(chips):
    cfg = FilmConfig()
    cfg.scan.jpeg_quality = (20, 20)
    out = apply_effect(chips[3], "scan", cfg, seed=0).astype(np.float64)
    diff = out - chips[3]
    assert 0 < np.abs(diff).mean() < 10
    # JPEG works in 8 x 8 blocks: the error jumps more across block edges than inside blocks.
    step = np.abs(np.diff(out, axis=1))
    assert step[:, 7::8].mean() > step[:, 3::8].mean()


def test_drift_changes_brightness_of_the_frame(chips):
    cfg = FilmConfig()
    cfg.drift.brightness = (0.1, 0.1)
    cfg.drift.gain = (1.0, 1.0)
    cfg.drift.gradient = (0.0, 0.0)
    out = apply_effect(chips[4], "drift", cfg)
    assert abs(float(out.mean()) - float(chips[4].mean()) - 25.5) < 2


def test_every_effect_keeps_shape_and_range(chips):
    cfg = FilmConfig()
    for name in EFFECTS:
        out = apply_effect(chips[0], name, cfg, seed=1)
        assert out.shape == chips[0].shape and out.dtype == np.uint8


def test_film_config_from_yaml_mapping_and_bad_effects():
    cfg = config_from_dict({"src": ["x.tif"], "out": "o", "film": {"grain": {"amount": "0.05,0.08"}, "order": ["grain"]}})
    assert cfg.film.grain.amount == (0.05, 0.08) and cfg.film.order == ["grain"]
    with pytest.raises(ConfigError, match="unknown key"):
        config_from_dict({"film": {"grain": {"amont": 1}}})
    with pytest.raises(ConfigError, match="unknown film effect"):
        validate(DatasetConfig(src=["x.tif"], out="o", film=FilmConfig(order=["grain", "sepia"])))
