"""``tone_target``: the network sees each input with the tone it was trained on.

A model fine-tuned by ``geocolor adapt`` learned its colours from modern imagery put through one fitted
film tone curve; an archive's scans differ from each other in exposure and development. Before the
network sees a scan, its L* distribution (measured on the same tiles the style machinery samples,
``geocolor.style.apply.lightness_sample``) is moved onto a target's L* quantiles by a monotone curve
(``geocolor.style.tone.tone_curve``). The output keeps the scan's own L*: only the colour is chosen on the
matched tone. The wrapper works on numpy tiles, so it serves every engine (torch and onnx).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from geocolor.errors import InputError
from geocolor.models.colorizer import TilePredictor, Wrapping
from geocolor.style.tone import N_QUANTILES, apply_curve, curve_summary, tone_curve

if TYPE_CHECKING:
    from geocolor.raster import InputPlan
    from geocolor.style.dodge import ExposureField
    from geocolor.types import RasterReader

log = logging.getLogger(__name__)


def check_tone_target(target: Sequence[float]) -> np.ndarray:
    """``target`` as ``N_QUANTILES`` finite, non-decreasing L* quantiles in [0, 100], or a one-line ``InputError``."""
    q = np.asarray(target, dtype=np.float64)
    if q.shape != (N_QUANTILES,) or not np.isfinite(q).all():
        raise InputError(f"a tone target is {N_QUANTILES} finite L* quantiles (0..100), got shape {q.shape}")
    if q.min() < 0 or q.max() > 100 or (np.diff(q) < -1e-6).any():
        raise InputError("a tone target's L* quantiles must be non-decreasing and within 0..100")
    return q


@dataclass
class TonedPredictor(Wrapping):
    """``base`` whose input L* goes through ``curve`` first (a ``TilePredictor`` itself, any engine)."""

    base: TilePredictor
    curve: np.ndarray
    metadata: Mapping[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.metadata = self.base.metadata

    def predict_array(self, lightness: np.ndarray) -> np.ndarray:
        return self.base.predict_array(apply_curve(np.asarray(lightness, dtype=np.float32), self.curve))


def toned(translator: TilePredictor, target: Sequence[float], ds: RasterReader, plan: InputPlan, tile: int,
          dodge: ExposureField | None = None) -> TonedPredictor:
    """``translator`` seeing ``ds`` tone-matched to ``target`` (L* quantiles, ``geocolor.style.tone.quantiles``)."""
    from geocolor.style.apply import lightness_sample

    curve = tone_curve(lightness_sample(ds, plan, tile, dodge=dodge), check_tone_target(target))
    log.info("%s: network input tone-matched, L* %s", getattr(ds, "name", "input"), curve_summary(curve))
    return TonedPredictor(translator, curve)
