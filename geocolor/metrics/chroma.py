"""Colour-failure figures that PSNR hides: the false-colour rate and the colourfulness ratio.

- **False-colour rate**: of the pixels whose true chroma C*ab is below ``TRUTH_GRAY`` (10: concrete,
  asphalt, shadows, bare rock, water glare), the share that the output paints with C*ab above
  ``FALSE_CHROMA`` (20: clearly pink, green, blue...). A flat-gray output scores 0; a pink road scores
  its share of the low-chroma pixels. ``false_colour_counts`` gives (false, low-chroma) pixel counts so
  a set of images pools by pixels, not by image.
- **Colourfulness ratio**: Hasler–Süsstrunk colourfulness of the output over the truth's (1 is right,
  < 0.8 is washed out, > 1.25 is gaudy).
- **Oracle mean colour**: the photo's own mean a*b* at every pixel, at the photo's own L*: a baseline
  a model must beat to have learned anything about *where* colours go.
"""

from __future__ import annotations

import math

import numpy as np

from geocolor.metrics.colourfulness import colourfulness

TRUTH_GRAY = 10.0
FALSE_CHROMA = 20.0


def chroma(img: np.ndarray) -> np.ndarray:
    """C*ab (CIE Lab chroma) of each pixel of an H x W x 3 uint8 sRGB image."""
    from geocolor.color import rgb_to_lab

    lab = np.asarray(rgb_to_lab(img.astype(np.float32) / 255.0))
    return np.hypot(lab[..., 1], lab[..., 2])


def false_colour_counts(pred: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None) -> tuple[int, int]:
    """(pixels falsely coloured, pixels whose truth is near gray), optionally inside ``valid``."""
    low = chroma(truth) < TRUTH_GRAY
    if valid is not None:
        low &= valid
    false = low & (chroma(pred) > FALSE_CHROMA)
    return int(false.sum()), int(low.sum())


def false_colour_rate(pred: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Share of near-gray truth pixels painted with strong chroma; NaN when the truth has none."""
    false, low = false_colour_counts(pred, truth, valid)
    return false / low if low else math.nan


def colourfulness_ratio(pred: np.ndarray, truth: np.ndarray) -> float:
    """Colourfulness of ``pred`` over the truth's (NaN for a gray truth)."""
    ref = colourfulness(truth)
    return colourfulness(pred) / ref if ref > 0 else math.nan


def chroma_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {"false_colour": false_colour_rate(pred, truth), "colourfulness_ratio": colourfulness_ratio(pred, truth)}


def oracle_mean_ab(truth_lab: np.ndarray, valid: np.ndarray | None = None) -> tuple[float, float]:
    """The mean a*b* of a Lab image (inside ``valid``): what the oracle mean-colour baseline paints."""
    ab = truth_lab[..., 1:].reshape(-1, 2) if valid is None else truth_lab[..., 1:][valid]
    if not len(ab):
        return 0.0, 0.0
    m = ab.astype(np.float64).mean(axis=0)
    return float(m[0]), float(m[1])
