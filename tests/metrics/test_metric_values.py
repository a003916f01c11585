"""Pixel metrics and colourfulness against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geocolor.color import lab_to_rgb
from geocolor.metrics.colourfulness import colourfulness, colourfulness_metrics
from geocolor.metrics.pixel import lab_metrics, pixel_metrics, psnr, summarize


def _image(seed: int = 0, size: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_identical_images():
    img = _image()
    m = {**pixel_metrics(img, img), **lab_metrics(img, img)}
    assert m["psnr"] == math.inf and m["psnr_ab"] == math.inf
    assert m["ssim"] == pytest.approx(1.0) and m["ssim_ab"] == pytest.approx(1.0)
    assert m["delta_e2000"] == 0.0
    assert summarize([m])["psnr"] == 100.0  # infinite PSNR capped in the mean, never a crash


def test_psnr_known_offset():
    a = np.full((8, 8, 3), 100, np.uint8)
    assert psnr(a + 10, a) == pytest.approx(10 * math.log10(255**2 / 100))


def test_uniform_lightness_shift_gives_known_delta_e():
    # Neutral grays differing only in L* by dL: CIEDE2000 = dL / S_L with S_L = 1 + 0.015 (L̄-50)² / sqrt(20 + (L̄-50)²).
    lab = np.zeros((16, 16, 3))
    lab[..., 0] = 40.0
    shifted = lab.copy()
    shifted[..., 0] = 50.0
    a = np.round(lab_to_rgb(lab) * 255).astype(np.uint8)
    b = np.round(lab_to_rgb(shifted) * 255).astype(np.uint8)
    from skimage.color import rgb2lab

    la, lb = rgb2lab(a)[0, 0, 0], rgb2lab(b)[0, 0, 0]  # L* after 8-bit rounding
    mean_l = (la + lb) / 2
    s_l = 1 + 0.015 * (mean_l - 50) ** 2 / math.sqrt(20 + (mean_l - 50) ** 2)
    assert pixel_metrics(a, b)["delta_e2000"] == pytest.approx(abs(lb - la) / s_l, rel=1e-3)
    assert pixel_metrics(a, b)["delta_e2000"] == pytest.approx(10 / s_l, rel=0.05)


def test_colourfulness_of_gray_is_zero_and_of_known_image():
    gray = np.repeat(_image()[..., :1], 3, axis=-1)
    assert colourfulness(gray) == 0.0
    # Half pure red, half pure green: rg = ±255 (std 255, mean 0); yb = 127.5 (std 0, mean 127.5).
    img = np.zeros((4, 4, 3), np.uint8)
    img[:2, :, 0] = 255
    img[2:, :, 1] = 255
    assert colourfulness(img) == pytest.approx(255 + 0.3 * 127.5)
    m = colourfulness_metrics(gray, img)
    assert m["colourfulness_diff"] == pytest.approx(-(255 + 0.3 * 127.5))
