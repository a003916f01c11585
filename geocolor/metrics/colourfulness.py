"""Colourfulness of Hasler and Süsstrunk (2003), the figure colorization papers use for "how vivid".

With the opponent channels ``rg = R - G`` and ``yb = (R + G) / 2 - B`` of an sRGB image in 0..255,
``M = sqrt(std_rg² + std_yb²) + 0.3 * sqrt(mean_rg² + mean_yb²)``. A gray image (R = G = B) has M = 0;
about 33 reads as "moderately colourful", above 59 as "highly colourful". A colorizer that plays safe
gives outputs less colourful than the truth, so the signed difference to the truth is reported too.
"""

from __future__ import annotations

import math

import numpy as np


def colourfulness(img: np.ndarray) -> float:
    """Hasler–Süsstrunk colourfulness M of an H x W x 3 uint8 (or 0..255 float) sRGB image."""
    rgb = img.reshape(-1, 3).astype(np.float64)
    rg = rgb[:, 0] - rgb[:, 1]
    yb = 0.5 * (rgb[:, 0] + rgb[:, 1]) - rgb[:, 2]
    spread = math.hypot(float(rg.std()), float(yb.std()))
    centre = math.hypot(float(rg.mean()), float(yb.mean()))
    return spread + 0.3 * centre


def colourfulness_metrics(pred: np.ndarray, truth: np.ndarray | None) -> dict[str, float]:
    """Colourfulness of the prediction and, given a truth, its signed difference (pred - truth)."""
    out = {"colourfulness": colourfulness(pred)}
    if truth is not None:
        out["colourfulness_diff"] = out["colourfulness"] - colourfulness(truth)
    return out
