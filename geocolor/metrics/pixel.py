"""Pixel metrics for colorization: PSNR, SSIM and mean CIEDE2000 colour error, on 8-bit sRGB images.

All functions take H x W x 3 uint8 arrays (prediction, truth). Identical images give PSNR ``inf``
(reported as such, never a division error), SSIM 1 and Delta-E 0.
"""

from __future__ import annotations

import math

import numpy as np


def psnr(pred: np.ndarray, truth: np.ndarray) -> float:
    mse = float(np.mean((pred.astype(np.float64) - truth.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def ssim(pred: np.ndarray, truth: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(pred, truth, channel_axis=-1, data_range=255))


def delta_e2000(pred: np.ndarray, truth: np.ndarray) -> float:
    from skimage.color import deltaE_ciede2000, rgb2lab

    return float(np.mean(deltaE_ciede2000(rgb2lab(pred), rgb2lab(truth))))


def pixel_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {"psnr": psnr(pred, truth), "ssim": ssim(pred, truth), "delta_e2000": delta_e2000(pred, truth)}


def summarize(rows: list[dict[str, float]]) -> dict[str, float]:
    """Mean and standard deviation of each metric over chips (infinite PSNRs are capped at 100 dB).

    NaN values (a metric a chip cannot have, such as the false-colour rate of a chip without near-gray
    pixels) are left out; a metric no chip has is left out of the summary.
    """
    out: dict[str, float] = {}
    for key in rows[0] if rows else []:
        vals = np.array([min(r[key], 100.0) for r in rows], dtype=np.float64)
        vals = vals[~np.isnan(vals)]
        if len(vals):
            out[key] = float(vals.mean())
            out[f"{key}_std"] = float(vals.std())
    return out


AB_RANGE = 220.0  # a*b* span the model can emit (tanh * 110), the peak for PSNR and SSIM in Lab


def _ab(img: np.ndarray) -> np.ndarray:
    from geocolor.color import rgb_to_lab

    return np.asarray(rgb_to_lab(img.astype(np.float32) / 255.0))[..., 1:].astype(np.float64)


def lab_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """PSNR and SSIM in the model's colour space: on the a*b* channels, with a peak of ``AB_RANGE``.

    The L* channel is left out: geocolor keeps the input's own L*, so only the chroma is predicted.
    """
    from skimage.metrics import structural_similarity

    a, b = _ab(pred), _ab(truth)
    mse = float(np.mean((a - b) ** 2))
    ab_psnr = math.inf if mse == 0 else 10.0 * math.log10(AB_RANGE**2 / mse)
    ab_ssim = float(structural_similarity(a, b, channel_axis=-1, data_range=AB_RANGE))
    return {"psnr_ab": ab_psnr, "ssim_ab": ab_ssim}
