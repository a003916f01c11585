"""GAN objectives by name: ``vanilla`` (BCE with logits) and ``lsgan`` (least squares)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

GanLoss = Callable[[torch.Tensor, bool], torch.Tensor]


def vanilla(logits: torch.Tensor, target_real: bool) -> torch.Tensor:
    target = torch.ones_like(logits) if target_real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


def lsgan(logits: torch.Tensor, target_real: bool) -> torch.Tensor:
    return F.mse_loss(logits, torch.full_like(logits, 1.0 if target_real else 0.0))


GAN_LOSSES: dict[str, GanLoss] = {"vanilla": vanilla, "lsgan": lsgan}
