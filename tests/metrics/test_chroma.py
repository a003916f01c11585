"""False-colour rate, colourfulness ratio and the oracle mean colour on hand-made images."""

import math

import numpy as np
import pytest

from geocolor.color import rgb_to_lab
from geocolor.metrics.chroma import (
    chroma,
    colourfulness_ratio,
    false_colour_counts,
    false_colour_rate,
    oracle_mean_ab,
)


def _flat(rgb, size=32):
    return np.full((size, size, 3), rgb, np.uint8)


def test_gray_truth_with_pink_output_is_all_false_colour():
    truth, pink = _flat((128, 128, 128)), _flat((230, 150, 170))
    assert chroma(truth).max() < 1 and chroma(pink).min() > 20
    assert false_colour_rate(pink, truth) == 1.0
    assert false_colour_rate(truth, truth) == 0.0


def test_false_colour_counts_only_near_gray_truth_pixels():
    truth = _flat((128, 128, 128))
    truth[:, 16:] = (40, 140, 40)  # half the truth is green: not near gray, never counted
    out = _flat((40, 140, 40))  # the output paints everything green
    false, low = false_colour_counts(out, truth)
    assert low == 32 * 16 and false == low
    valid = np.zeros((32, 32), bool)
    valid[:8] = True
    assert false_colour_counts(out, truth, valid) == (8 * 16, 8 * 16)


def test_mild_tint_is_not_false_colour():
    truth, tinted = _flat((128, 128, 128)), _flat((135, 128, 120))  # C*ab about 6
    assert chroma(tinted).max() < 20
    assert false_colour_rate(tinted, truth) == 0.0


def test_false_colour_rate_without_gray_truth_is_nan():
    green = _flat((40, 140, 40))
    assert math.isnan(false_colour_rate(green, green))


def test_colourfulness_ratio():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    gray = np.repeat(truth.mean(axis=-1, keepdims=True).astype(np.uint8), 3, axis=-1)
    assert colourfulness_ratio(truth, truth) == pytest.approx(1.0)
    assert colourfulness_ratio(gray, truth) == pytest.approx(0.0, abs=1e-9)
    assert math.isnan(colourfulness_ratio(truth, gray))


def test_oracle_mean_ab_is_the_mean_chroma():
    img = _flat((200, 100, 50))
    img[:16] = (50, 100, 200)
    lab = np.asarray(rgb_to_lab(img.astype(np.float32) / 255.0))
    a, b = oracle_mean_ab(lab)
    assert a == pytest.approx(lab[..., 1].mean(), abs=1e-4) and b == pytest.approx(lab[..., 2].mean(), abs=1e-4)
    valid = np.zeros((32, 32), bool)
    valid[16:] = True
    assert oracle_mean_ab(lab, valid) == pytest.approx(tuple(lab[20, 0, 1:]), abs=1e-4)
