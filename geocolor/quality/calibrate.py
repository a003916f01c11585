"""Saturation calibration on held-out ground: the chroma gain that gives outputs the truth's colourfulness.

A network trained with L1 alone predicts the conditional median of a*b*: right in hue where it is
sure, and pulled towards gray where it is not, so its outputs are less colourful than the truth.
``gain_curve`` measures, on crops of the catalogue's ``val`` sources (never the test sources), the
colourfulness ratio, CIEDE2000 and false-colour rate of the outputs with a*b* scaled by each gain;
``choose_gain`` takes the largest gain that keeps the colourfulness ratio at most 1 and the
false-colour rate at most 2 % (more saturation first paints near-gray ground), and
``write_calibrated`` stores it in a copy of the model file (``normalization.chroma_gain``, applied by
every engine when it decodes a*b*). L* is never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from geocolor.quality.protocol import Crop, figures_of
from geocolor.types import PathLike

if TYPE_CHECKING:
    from geocolor.models.translator import Translator

GAINS = (1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.25, 2.5, 3.0)


def predicted_lab(translator: Translator, crops: Sequence[Crop]) -> list[np.ndarray]:
    """Lab of each crop with the model's a*b* (gain 1) and the crop's own L*, float32 (H, W, 3)."""
    import torch

    from geocolor.color import rgb_to_lab
    from geocolor.metrics.evaluate import padded_predictor

    predict = padded_predictor(translator)
    out = []
    for crop in crops:
        lab = np.asarray(rgb_to_lab(crop.truth.astype(np.float32) / 255.0)).copy()
        ab = predict(torch.from_numpy(lab[None, None, ..., 0].copy()))[0].cpu().numpy().transpose(1, 2, 0)
        lab[..., 1:] = ab / translator.encoding.chroma_gain  # measure from the uncalibrated output
        out.append(lab)
    return out


def gain_curve(labs: Sequence[np.ndarray], crops: Sequence[Crop], gains: Sequence[float] = GAINS) -> list[dict[str, float]]:
    """Figures (colourfulness ratio, CIEDE2000, PSNR, false colour) of the outputs at each chroma gain."""
    from geocolor.color import lab_to_uint8

    truths = [c.truth for c in crops]
    rows = []
    for g in gains:
        outs = []
        for lab in labs:
            scaled = lab.copy()
            scaled[..., 1:] *= g
            outs.append(lab_to_uint8(scaled))
        rows.append({"gain": float(g), **figures_of(outs, truths)})
    return rows


def _crossing(pts: list[tuple[float, float]], level: float) -> float | None:
    """The first gain (linear between measured ones) where an increasing figure reaches ``level``."""
    if not pts:
        return None
    if pts[0][1] >= level:
        return pts[0][0]
    for (g0, v0), (g1, v1) in zip(pts, pts[1:]):
        if v0 < level <= v1:
            return g0 + (g1 - g0) * (level - v0) / (v1 - v0)
    return None


def choose_gain(rows: Sequence[dict[str, float]], target: float = 1.0, max_false: float = 0.02) -> float:
    """The largest gain that neither makes the outputs more colourful than ``target`` times the truth nor
    paints more than ``max_false`` of the near-gray truth pixels (the false-colour rate), at least 1.

    Both figures grow with the gain; each limit is interpolated between the measured gains.
    """
    rows = sorted(rows, key=lambda r: r["gain"])
    limits = [_crossing([(r["gain"], r["colourfulness_ratio"]) for r in rows], target),
              _crossing([(r["gain"], r["false_colour"]) for r in rows if r["false_colour"] == r["false_colour"]], max_false)]
    found = [g for g in limits if g is not None]
    return round(max(1.0, min(found) if found else rows[-1]["gain"]), 3)


def write_calibrated(src: PathLike, dst: PathLike, gain: float, record: dict[str, Any]) -> Path:
    """A copy of model file ``src`` at ``dst`` whose a*b* are scaled by ``gain``; ``record`` goes in its metadata."""
    from geocolor.models.io import read_model_file, write_model_file

    payload = read_model_file(src)
    meta = dict(payload["metadata"])
    meta["normalization"] = {**meta["normalization"], "chroma_gain": float(gain)}
    meta["calibration"] = record
    return write_model_file(dst, payload["state_dict"], meta)
