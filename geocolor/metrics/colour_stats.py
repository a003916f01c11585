"""Colour-distribution distances that need no network: how far the outputs' a*b* are from real colour.

Without ground truth (unpaired models, real historical photos) a colorization can still be compared
with real colour chips of the same area as a distribution. Each set's pixels are pooled (every
``step``-th pixel, nodata black dropped) and taken to CIE Lab; per chroma channel we report the
1-D Wasserstein-1 distance (earth mover's distance, in a*/b* units: a set shifted by ``d`` has
distance ``d``), and over the joint a*b* plane the total-variation distance of the two normalised
2-D histograms (0 = same histogram, 1 = no overlap). A gray output has all its mass at a*b* = 0, so
these figures also show a colorizer that plays safe.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from geocolor.color import rgb_to_lab

AB_EDGES = np.linspace(-112.5, 112.5, 46)  # 5-unit bins centred on multiples of 5 (gray falls in one bin)


def pooled_ab(images: Sequence[np.ndarray], step: int = 2, max_pixels: int = 2_000_000) -> np.ndarray:
    """a*b* (P x 2, float64) of every ``step``-th pixel of uint8 sRGB images, all-zero (nodata) pixels left out.

    The step grows so that about ``max_pixels`` at most are pooled, whatever the number of chips.
    """
    total = sum(int(np.prod(np.shape(img)[:2])) for img in images)
    step = max(step, math.ceil(math.sqrt(total / max_pixels)))
    parts = []
    for img in images:
        px = np.asarray(img)[::step, ::step].reshape(-1, 3)
        px = px[px.max(axis=1) > 0]
        if len(px):
            parts.append(np.asarray(rgb_to_lab(px.astype(np.float32) / 255.0))[:, 1:].astype(np.float64))
    return np.concatenate(parts) if parts else np.zeros((0, 2))


def wasserstein_1d(u: np.ndarray, v: np.ndarray) -> float:
    """Earth mover's distance between two 1-D samples (equal weights)."""
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(u, v))


def _histogram(ab: np.ndarray, edges: np.ndarray) -> np.ndarray:
    clipped = np.clip(ab, edges[0], edges[-1])
    h, _, _ = np.histogram2d(clipped[:, 0], clipped[:, 1], bins=[edges, edges])
    return h / h.sum()


def histogram_tv(u: np.ndarray, v: np.ndarray, edges: np.ndarray = AB_EDGES) -> float:
    """Total-variation distance between the normalised 2-D a*b* histograms of P x 2 and Q x 2 samples."""
    return float(0.5 * np.abs(_histogram(u, edges) - _histogram(v, edges)).sum())


def ab_distances(outputs: Sequence[np.ndarray], reference: Sequence[np.ndarray], step: int = 2) -> dict[str, float]:
    """Wasserstein-1 on a* and b* (and their mean) and the a*b* histogram TV distance, outputs vs reference."""
    out, ref = pooled_ab(outputs, step), pooled_ab(reference, step)
    if not len(out) or not len(ref):
        raise ValueError("no valid (non-black) pixels to compare")
    w_a, w_b = wasserstein_1d(out[:, 0], ref[:, 0]), wasserstein_1d(out[:, 1], ref[:, 1])
    return {"w1_a": w_a, "w1_b": w_b, "w1_ab": 0.5 * (w_a + w_b), "hist_tv": histogram_tv(out, ref)}
