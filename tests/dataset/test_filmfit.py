"""The film model fitted to scans (``geocolor.dataset.filmfit``) and its use in training."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from geocolor.dataset.filmfit import FittedFilm, _grain, degrade_fitted, fit_film, measure, noise_sigma, sharpness
from tests.conftest import shared


@pytest.fixture(scope="module")
def grays() -> tuple[np.ndarray, np.ndarray]:
    """NAIP 2020 (the modern imagery) and NAIP 2009 (the ground of the scans) as L* gray in [0, 1]."""
    from geocolor.color import lightness_to_gray, rgb_to_lab
    from geocolor.raster import read_rgb

    def gray(name: str) -> np.ndarray:
        rgb = read_rgb(shared(f"naip/{name}"))[:720, :930]
        return np.asarray(lightness_to_gray(rgb_to_lab(rgb.astype(np.float32) / 255)[..., 0]), dtype=np.float32)

    return gray("m_4709963_se_14_1_20200831.tif"), gray("m_4709963_se_14_1_20090818.tif")


def test_grain_and_blur_measures_answer_to_grain_and_blur(grays):
    modern, _ = grays
    assert noise_sigma(_grain(modern, 0.04, 0)) > 3 * noise_sigma(modern)
    soft = [sharpness(ndimage.gaussian_filter(modern, s)) for s in (0.0, 0.8, 1.6)]
    assert soft[0] > soft[1] > soft[2]
    # grain alone does not read as sharpness (its share is subtracted)
    assert abs(sharpness(_grain(modern, 0.04, 0)) - soft[0]) < 0.25 * (soft[0] - soft[2])


def test_the_fit_recovers_tone_grain_and_blur_of_a_degraded_print(grays):
    modern, ground = grays
    scan = _grain(ndimage.gaussian_filter(np.clip(0.1 + 0.75 * ground**1.2, 0, 1), 1.9), 0.06, 5)
    fitted = fit_film(measure(scan), modern)
    assert fitted.grain_amount == pytest.approx(0.06, rel=0.2)
    assert 1.4 <= fitted.blur_sigma <= 2.5
    assert fitted.film.fade.p == 0 and fitted.film.grain.p == 1 and fitted.film.blur.p == 1
    degraded = degrade_fitted(np.round(modern * 255).astype(np.uint8), fitted, seed=3, key="a")
    target = measure(scan)
    got = measure(degraded.astype(np.float32) / 255)
    assert abs(got.lightness[50] - target.lightness[50]) < 4, "the median tone moves onto the scans'"
    assert np.array_equal(degraded, degrade_fitted(np.round(modern * 255).astype(np.uint8), fitted, seed=3, key="a"))
    again = FittedFilm.from_dict(json.loads(json.dumps(fitted.to_dict())))
    assert again.film == fitted.film and again.curve == fitted.curve


def test_training_uses_the_fitted_film_for_its_gray_inputs(grays, tmp_path):
    from geocolor.train.config import DataConfig, SourceConfig
    from geocolor.train.data import ChipData

    modern, ground = grays
    scan = _grain(np.clip(0.2 + 0.5 * ground, 0, 1), 0.05, 1)
    fitted = fit_film(measure(scan), modern)
    path = tmp_path / "film_fit.json"
    path.write_text(json.dumps(fitted.to_dict()))
    source = [SourceConfig(str(shared("naip/m_4709963_se_14_1_20200831.tif")))]
    plain = ChipData(DataConfig(sources=source, tile=128, batch_size=4, film_prob=1.0), seed=0)
    fit = ChipData(DataConfig(sources=source, tile=128, batch_size=4, film_prob=1.0, film_fit=str(path)), seed=0)
    g_plain, _ = plain.sample_pairs()
    g_fit, _ = fit.sample_pairs()
    assert g_plain is not None and g_fit is not None
    # the fitted print is flatter (0.2 + 0.5 x) and grainier than the default film's average
    assert np.std(g_fit.astype(float)) < np.std(g_plain.astype(float))
    assert noise_sigma(g_fit[0].astype(np.float32) / 255) > 0.5 * measure(scan).noise
