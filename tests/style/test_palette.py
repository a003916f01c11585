"""Palette math (pure functions): moments, pooling, the matching map, its application, distances."""

from __future__ import annotations

import numpy as np
import pytest

from geocolor.style.palette import (
    Moments,
    ab_moments,
    apply_to_lab,
    apply_transform,
    matching_transform,
    palette_distance,
    pool_moments,
)


def gaussian_ab(mean, cov, n=200_000, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).multivariate_normal(mean, cov, size=n)


def test_matching_transform_maps_source_moments_onto_target_moments():
    src = gaussian_ab([5.0, 20.0], [[40.0, 12.0], [12.0, 25.0]])
    dst = ab_moments(gaussian_ab([-10.0, 3.0], [[90.0, -30.0], [-30.0, 60.0]], seed=1))
    a, b = matching_transform(ab_moments(src), dst)
    moved = ab_moments(apply_transform(src, a, b))
    np.testing.assert_allclose(moved.mean, dst.mean, atol=0.05)
    np.testing.assert_allclose(moved.cov, dst.cov, rtol=1e-3, atol=0.05)
    assert np.allclose(a, a.T) and np.all(np.linalg.eigvalsh(a) > 0), "the map must not mirror hues"


def test_identity_when_palettes_agree():
    m = ab_moments(gaussian_ab([3.0, -4.0], [[30.0, 5.0], [5.0, 20.0]]))
    a, b = matching_transform(m, m)
    np.testing.assert_allclose(a, np.eye(2), atol=1e-9)
    np.testing.assert_allclose(b, 0.0, atol=1e-9)


def test_lightness_is_never_touched_and_axis_is_respected():
    rng = np.random.default_rng(3)
    lab = np.stack([rng.uniform(0, 100, (4, 5)), rng.normal(0, 10, (4, 5)), rng.normal(5, 10, (4, 5))], axis=-1)
    a, b = np.array([[1.5, 0.2], [0.2, 0.7]]), np.array([4.0, -6.0])
    out = apply_to_lab(lab, a, b)
    np.testing.assert_array_equal(out[..., 0], lab[..., 0].astype(np.float32))
    np.testing.assert_allclose(out[..., 1:], lab[..., 1:] @ a.T + b, rtol=1e-5, atol=1e-4)
    chw = apply_transform(np.moveaxis(lab[..., 1:], -1, 0), a, b, axis=0)
    np.testing.assert_allclose(np.moveaxis(chw, 0, -1), out[..., 1:], rtol=1e-6)


def test_gain_is_bounded_for_nearly_gray_predictions():
    flat = Moments(np.zeros(2), np.diag([0.01, 0.01]), 100)
    vivid = Moments(np.zeros(2), np.diag([900.0, 900.0]), 100)
    a, _ = matching_transform(flat, vivid, max_gain=4.0)
    assert np.linalg.eigvalsh(a).max() == pytest.approx(4.0)


def test_pooled_moments_equal_the_moments_of_the_union():
    x, y = gaussian_ab([0, 0], np.eye(2) * 9, 3000, 1), gaussian_ab([10, -5], np.eye(2) * 4, 7000, 2)
    pooled = pool_moments([ab_moments(x), ab_moments(y)])
    union = ab_moments(np.concatenate([x, y]))
    np.testing.assert_allclose(pooled.mean, union.mean)
    np.testing.assert_allclose(pooled.cov, union.cov)
    assert pooled.count == 10_000


def test_weights_select_pixels_and_empty_input_is_an_error():
    ab = np.array([[1.0, 1.0], [3.0, 3.0], [100.0, -100.0]])
    m = ab_moments(ab, weight=np.array([1, 1, 0]))
    np.testing.assert_allclose(m.mean, [2.0, 2.0])
    with pytest.raises(ValueError, match="no valid pixels"):
        ab_moments(ab, weight=np.zeros(3))


def test_palette_distance():
    m = Moments(np.array([1.0, 2.0]), np.array([[20.0, 3.0], [3.0, 10.0]]), 1)
    shifted = Moments(m.mean + np.array([3.0, 4.0]), m.cov, 1)
    assert palette_distance(m, m) == pytest.approx(0.0, abs=1e-6)
    assert palette_distance(m, shifted) == pytest.approx(5.0, abs=1e-6)
    wider = Moments(m.mean, m.cov * 4, 1)
    assert palette_distance(m, wider) > 1.0
