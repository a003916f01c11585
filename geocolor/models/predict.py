"""Colorizing uint8 chips with a chroma predictor, as evaluation and training previews need it.

A predictor maps L* tiles (N, 1, H, W) to a*b* tiles (N, 2, H, W) (a ``Translator``'s
``predict_chroma``, or a network during training). Each chip is rebuilt as sRGB from its own L*
(or its gray input's) and the predicted a*b*, with lightness-preserving gamut mapping, as mosaic does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from geocolor.color import input_lab, lab_to_uint8

Predictor = Callable[[torch.Tensor], torch.Tensor]


def predict_chips(predict: Predictor, chips: list[np.ndarray], grays: list[np.ndarray] | None = None, batch: int = 8) -> list[np.ndarray]:
    """Colorized uint8 chips: the predictor sees only L* (of ``grays`` if given, else of the chips)."""
    out = []
    for i in range(0, len(chips), batch):
        lab = input_lab(chips[i : i + batch], grays[i : i + batch] if grays is not None else None)
        ab = predict(torch.from_numpy(lab[..., :1].transpose(0, 3, 1, 2).copy())).cpu().numpy().transpose(0, 2, 3, 1)
        for j in range(len(lab)):
            out.append(lab_to_uint8(np.concatenate([lab[j, ..., :1], ab[j]], axis=-1)))
    return out
