"""Inpainting losses: reconstruction over the hole (L2 as in the seed, or L1) and total variation.

Tensors are (N, C, H, W); ``hole`` is (N, 1, H, W) with 1 where pixels were missing. The
reconstruction is averaged over hole pixels (and channels), so its size does not depend on how much
of the image is missing; the total variation is the seed's sum of absolute neighbour differences,
averaged over the batch.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Reconstruction = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def _masked_mean(err: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    weight = hole.expand_as(err)
    return (err * weight).sum() / weight.sum().clamp_min(1.0)


def masked_l2(output: torch.Tensor, target: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the hole pixels."""
    return _masked_mean((output - target) ** 2, hole)


def masked_l1(output: torch.Tensor, target: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over the hole pixels."""
    return _masked_mean((output - target).abs(), hole)


RECONSTRUCTION: dict[str, Reconstruction] = {"l2": masked_l2, "l1": masked_l1}


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Sum of |vertical| + |horizontal| neighbour differences per image, averaged over the batch."""
    dv = (image[:, :, 1:, :] - image[:, :, :-1, :]).abs().sum()
    dh = (image[:, :, :, 1:] - image[:, :, :, :-1]).abs().sum()
    return (dv + dh) / image.shape[0]


def composite(output: torch.Tensor, known: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """The network's pixels inside the hole, the known image's everywhere else."""
    return hole * output + (1.0 - hole) * known
