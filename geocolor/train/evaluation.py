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

from geocolor.color import gray_to_lightness, lab_to_rgb_keep_lightness, rgb_to_lab
from geocolor.metrics.colourfulness import colourfulness_metrics
from geocolor.metrics.pixel import pixel_metrics, summarize

Predictor = Callable[[torch.Tensor], torch.Tensor]


def lab_to_uint8(lab: np.ndarray) -> np.ndarray:
    return np.round(lab_to_rgb_keep_lightness(lab) * 255.0).astype(np.uint8)


def input_lab(chips: list[np.ndarray], grays: list[np.ndarray] | None) -> np.ndarray:
    """Lab of the colour chips, with L* replaced by the gray inputs' L* when they are given."""
    lab = rgb_to_lab(np.stack(chips).astype(np.float32) / 255.0)
    if grays is not None:
        lab[..., 0] = gray_to_lightness(np.stack(grays).astype(np.float32) / 255.0)
    return lab


def predict_chips(predict: Predictor, chips: list[np.ndarray], grays: list[np.ndarray] | None = None, batch: int = 8) -> list[np.ndarray]:
    """Colorized uint8 chips: the predictor sees only L* (of ``grays`` if given, else of the chips)."""
    out = []
    for i in range(0, len(chips), batch):
        lab = input_lab(chips[i : i + batch], grays[i : i + batch] if grays is not None else None)
        ab = predict(torch.from_numpy(lab[..., :1].transpose(0, 3, 1, 2).copy())).cpu().numpy().transpose(0, 2, 3, 1)
        for j in range(len(lab)):
            out.append(lab_to_uint8(np.concatenate([lab[j, ..., :1], ab[j]], axis=-1)))
    return out


def evaluate_chips(
    predict: Predictor, chips: list[np.ndarray], ab_mean: tuple[float, float], grays: list[np.ndarray] | None = None
) -> dict[str, dict[str, float]]:
    """Mean +- std of PSNR, SSIM and CIEDE2000 for the model and both baselines.

    Every output keeps the input's L* (the chip's own, or the gray input's), as mosaic does.
    """
    preds = predict_chips(predict, chips, grays)
    result: dict[str, dict[str, float]] = {"model": summarize([chip_metrics(p, t) for p, t in zip(preds, chips)])}
    base = input_lab(chips, grays)
    for name, ab in (("gray", (0.0, 0.0)), ("mean_color", ab_mean)):
        rows = []
        for lab, chip in zip(base.copy(), chips):
            lab[..., 1], lab[..., 2] = ab
            rows.append(chip_metrics(lab_to_uint8(lab), chip))
        result[name] = summarize(rows)
    result["n_chips"] = len(chips)  # type: ignore[assignment]
    return result


def chip_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """PSNR, SSIM, CIEDE2000 and the colourfulness of ``pred`` (and its difference to the truth's)."""
    return {**pixel_metrics(pred, truth), **colourfulness_metrics(pred, truth)}


def mean_chroma(images: list[np.ndarray], step: int = 4) -> tuple[float, float]:
    """Mean a*, b* over the non-nodata pixels of uint8 RGB images (every ``step``-th pixel)."""
    sums = np.zeros(2)
    count = 0
    for img in images:
        px = img[::step, ::step].reshape(-1, 3)
        px = px[px.max(axis=1) > 0].astype(np.float32) / 255.0
        if len(px):
            lab = rgb_to_lab(px)
            sums += lab[:, 1:].sum(axis=0)
            count += len(px)
    return (float(sums[0] / count), float(sums[1] / count)) if count else (0.0, 0.0)
