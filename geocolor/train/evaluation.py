"""Held-out evaluation of a chroma predictor against the gray and mean-colour baselines.

A predictor maps L* tiles (N, 1, H, W) to a*b* tiles (N, 2, H, W). Each held-out chip is rebuilt as
sRGB from its own L* and the predicted a*b* (lightness-preserving gamut mapping, as mosaic does)
and compared with the true colour chip (PSNR, SSIM, CIEDE2000, colourfulness). The baselines use
the same L*: ``gray`` predicts a*b* = 0, ``mean_color`` predicts the training set's mean a*b* everywhere.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from geocolor.color import input_lab, lab_to_uint8
from geocolor.color import mean_chroma as mean_chroma  # re-exported: the trainer imports it from here
from geocolor.metrics.chroma import false_colour_counts
from geocolor.metrics.colourfulness import colourfulness_metrics
from geocolor.metrics.pixel import pixel_metrics, summarize
from geocolor.models.predict import predict_chips

Predictor = Callable[[torch.Tensor], torch.Tensor]


def evaluate_chips(
    predict: Predictor, chips: list[np.ndarray], ab_mean: tuple[float, float], grays: list[np.ndarray] | None = None
) -> dict[str, dict[str, float]]:
    """Mean +- std of PSNR, SSIM and CIEDE2000 for the model and both baselines.

    Every output keeps the input's L* (the chip's own, or the gray input's), as mosaic does.
    """
    preds = predict_chips(predict, chips, grays)
    result: dict[str, dict[str, float]] = {"model": summarize([chip_metrics(p, t) for p, t in zip(preds, chips)])}
    result["model"]["false_colour"] = pooled_false_colour(preds, chips)
    base = input_lab(chips, grays)
    for name, ab in (("gray", (0.0, 0.0)), ("mean_color", ab_mean)):
        rows, outs = [], []
        for lab, chip in zip(base.copy(), chips):
            lab[..., 1], lab[..., 2] = ab
            outs.append(lab_to_uint8(lab))
            rows.append(chip_metrics(outs[-1], chip))
        result[name] = summarize(rows)
        result[name]["false_colour"] = pooled_false_colour(outs, chips)
    result["n_chips"] = len(chips)  # type: ignore[assignment]
    return result


def pooled_false_colour(preds: list[np.ndarray], truths: list[np.ndarray]) -> float:
    """The false-colour rate pooled over pixels of all chips (0 when no truth pixel is near neutral)."""
    false = low = 0
    for p, t in zip(preds, truths):
        f, n = false_colour_counts(p, t)
        false, low = false + f, low + n
    return false / low if low else 0.0


def chip_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """PSNR, SSIM, CIEDE2000 and the colourfulness of ``pred`` (and its difference to the truth's)."""
    return {**pixel_metrics(pred, truth), **colourfulness_metrics(pred, truth)}
