"""A penalty on painting more colour than the truth has: restraint where the model is unsure.

L1 on a*b* predicts the median colour of what a gray patch could be. Where most look-alike patches
in the training imagery are green and a few are gray (a road, bare soil, a burnt field), the median
is green, and the gray ones come out green: the false colour that users see as green roads and pink
shadows. ``chroma_excess`` charges only for chroma *above* the truth's (C*ab, CIE units), more
where the truth is near neutral (C*ab below ``neutral``: asphalt, concrete, bare rock, shadow).
Added to L1 it moves the prediction toward the gray end exactly where look-alikes disagree, and
costs nothing where the model gets the colour right or paints less than there is.
"""

from __future__ import annotations

import torch

NEUTRAL_CHROMA = 10.0  # C*ab below which a true colour counts as neutral (the false-colour rate's bound)


def chroma_excess(pred_ab: torch.Tensor, true_ab: torch.Tensor, neutral: float = NEUTRAL_CHROMA, neutral_weight: float = 4.0) -> torch.Tensor:
    """Mean of ``w * relu(C_pred - C_true)`` over pixels; a*b* (N, 2, H, W) in CIE units.

    ``w`` is ``neutral_weight`` where the true chroma is below ``neutral``, else 1.
    """
    if pred_ab.shape != true_ab.shape or pred_ab.shape[1] != 2:
        raise ValueError(f"a*b* tensors must both be (N, 2, H, W), got {tuple(pred_ab.shape)} and {tuple(true_ab.shape)}")
    c_pred = torch.sqrt(pred_ab.float().square().sum(1) + 1e-6)
    c_true = torch.sqrt(true_ab.float().square().sum(1) + 1e-6)
    weight = torch.where(c_true < neutral, torch.full_like(c_true, neutral_weight), torch.ones_like(c_true))
    return (weight * torch.relu(c_pred - c_true)).mean()
