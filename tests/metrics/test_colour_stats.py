"""Network-free colour-distribution distances against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from geocolor.color import lab_to_rgb
from geocolor.metrics.colour_stats import ab_distances, histogram_tv, pooled_ab, wasserstein_1d


def lab_image(a: float, b: float, size: int = 16, lightness: float = 60.0) -> np.ndarray:
    lab = np.zeros((size, size, 3))
    lab[..., 0], lab[..., 1], lab[..., 2] = lightness, a, b
    return np.round(np.clip(lab_to_rgb(lab), 0, 1) * 255).astype(np.uint8)


def test_wasserstein_of_a_shift_is_the_shift():
    u = np.random.default_rng(0).normal(size=500)
    assert wasserstein_1d(u, u + 3.0) == pytest.approx(3.0)
    assert wasserstein_1d(u, u) == 0.0


def test_histogram_distance_same_zero_disjoint_one():
    u = np.array([[10.0, 10.0], [12.0, -20.0]])
    assert histogram_tv(u, u) == 0.0
    assert histogram_tv(u, -u) == pytest.approx(1.0)


def test_flat_colour_chips_give_their_chroma_difference():
    # Flat chips at a* = 20 vs a* = 0 (gray), b* = 10 in both: W1 on a* ≈ 20, on b* ≈ 0 (8-bit rounding aside).
    d = ab_distances([lab_image(20, 10)], [lab_image(0, 10)])
    assert d["w1_a"] == pytest.approx(20, abs=1.0) and d["w1_b"] == pytest.approx(0, abs=1.0)
    assert d["hist_tv"] == pytest.approx(1.0)
    same = ab_distances([lab_image(20, 10)] * 2, [lab_image(20, 10)])
    assert same == {"w1_a": 0.0, "w1_b": 0.0, "w1_ab": 0.0, "hist_tv": 0.0}


def test_nodata_black_is_left_out():
    img = lab_image(15, -15)
    img[:8] = 0  # half the chip is nodata
    ab = pooled_ab([img], step=1)
    assert len(ab) == 16 * 8
    with pytest.raises(ValueError, match="no valid"):
        ab_distances([np.zeros((4, 4, 3), np.uint8)], [img])


def test_pooling_is_bounded():
    imgs = [lab_image(10, 10, size=64)] * 10  # 40 960 pixels
    assert len(pooled_ab(imgs, step=1, max_pixels=4096)) <= 4096
    assert len(pooled_ab(imgs, step=1)) == 40960
