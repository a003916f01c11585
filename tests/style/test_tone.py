"""Tone matching (``geocolor.style.tone``): pure functions on L* samples."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geocolor.style.tone import CURVE_KNOTS, apply_curve, pool_quantiles, quantiles, tone_curve


def test_curve_carries_one_tonal_range_onto_another():
    rng = np.random.default_rng(0)
    light = rng.beta(4, 2, 100_000) * 100  # a bright print
    dark = 100 * (light / 100) ** 1.6 * 0.8  # the same negative printed darker and flatter
    curve = tone_curve(quantiles(dark), quantiles(light))
    assert curve.shape == (CURVE_KNOTS,) and np.all(np.diff(curve) >= 0)  # monotone (flat only where clipped at 100)
    moved = apply_curve(dark, curve)
    assert np.abs(moved - light).mean() < 0.3  # a monotone change of tone is undone pixel by pixel
    assert np.abs(quantiles(moved) - quantiles(light)).max() < 1.0


def test_equal_tones_give_the_identity_and_slope_is_bounded():
    rng = np.random.default_rng(1)
    values = rng.uniform(10, 90, 50_000)
    x = np.linspace(0, 100, CURVE_KNOTS)
    assert np.abs(tone_curve(quantiles(values), quantiles(values)) - x).max() < 0.5
    narrow = rng.uniform(45, 55, 50_000)  # a flat, foggy print: full-range matching would stretch 8x
    curve = tone_curve(quantiles(narrow), quantiles(values), max_slope=4.0)
    assert np.diff(curve).max() <= 4.0 * (x[1] - x[0]) + 1e-5
    assert abs(np.interp(50, x, curve) - 50) < 2.0  # the middle stays where matching puts it


def test_numpy_and_torch_curves_agree_and_keep_shape():
    curve = tone_curve(np.linspace(20, 80, 101), np.linspace(0, 100, 101))
    lum = np.random.default_rng(2).uniform(0, 100, (1, 1, 16, 16)).astype(np.float32)
    a = apply_curve(lum, curve)
    b = apply_curve(torch.from_numpy(lum), curve).numpy()
    assert a.shape == b.shape == lum.shape and np.abs(a - b).max() < 1e-3


def test_pooled_tone_weights_each_sample_equally_and_empty_is_an_error():
    small, big = np.full(10, 20.0), np.full(100_000, 80.0)
    assert abs(np.median(pool_quantiles([quantiles(small), quantiles(big)])) - 50) < 31
    q = pool_quantiles([quantiles(small), quantiles(big)])
    assert q[25] == pytest.approx(20.0) and q[75] == pytest.approx(80.0)
    with pytest.raises(ValueError, match="no lightness"):
        quantiles(np.array([np.nan]))
