"""GAN objectives by name, and the WGAN-GP gradient penalty.

Every loss is called as ``loss(output, target_real, discriminator)``: ``output`` is what the
discriminator gave, ``target_real`` whether the sample should be judged real, ``discriminator``
whether this is the discriminator's step (the hinge loss differs between the two players).

- ``vanilla``: binary cross-entropy on logits (the original GAN / pix2pix).
- ``lsgan``: least squares toward 1 (real) and 0 (fake) (Mao et al. 2017).
- ``wgangp``: Wasserstein critic, -E[D(real)] + E[D(fake)], generator -E[D(fake)]; it needs the
  ``gradient_penalty`` below added to the critic's loss (Gulrajani et al. 2017) and a critic without
  batch norm (the penalty is per sample).
- ``hinge``: E[relu(1 - D(real))] + E[relu(1 + D(fake))] for D, -E[D(fake)] for G.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

GanLoss = Callable[[torch.Tensor, bool, bool], torch.Tensor]


def vanilla(logits: torch.Tensor, target_real: bool, discriminator: bool = False) -> torch.Tensor:
    target = torch.ones_like(logits) if target_real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits, target)


def lsgan(logits: torch.Tensor, target_real: bool, discriminator: bool = False) -> torch.Tensor:
    return F.mse_loss(logits, torch.full_like(logits, 1.0 if target_real else 0.0))


def wasserstein(scores: torch.Tensor, target_real: bool, discriminator: bool = False) -> torch.Tensor:
    return -scores.mean() if target_real else scores.mean()


def hinge(scores: torch.Tensor, target_real: bool, discriminator: bool = False) -> torch.Tensor:
    if not discriminator:
        return -scores.mean() if target_real else scores.mean()
    return F.relu(1.0 - scores).mean() if target_real else F.relu(1.0 + scores).mean()


GAN_LOSSES: dict[str, GanLoss] = {"vanilla": vanilla, "lsgan": lsgan, "wgangp": wasserstein, "hinge": hinge}

# How the real and fake terms are combined in the discriminator's loss: pix2pix halves the sum
# ("slows D down"); the Wasserstein estimate must stay whole for the penalty weight to mean anything.
D_LOSS_WEIGHT: dict[str, float] = {"vanilla": 0.5, "lsgan": 0.5, "wgangp": 1.0, "hinge": 0.5}


def gradient_penalty(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, weight: float = 10.0) -> torch.Tensor:
    """WGAN-GP: ``weight * E[(||grad D(x_hat)||_2 - 1)^2]`` at random interpolates x_hat of real and fake.

    ``real`` and ``fake`` are whole discriminator inputs (condition and image concatenated); one
    interpolation factor is drawn per sample. A PatchGAN critic scores patches; its score of a sample
    is the mean over patches, as the Wasserstein loss uses it, so the penalty is on the gradient of
    that mean (the gradient of the patch sum would be hundreds of times too large). The result is
    differentiable w.r.t. the critic.
    """
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mixed = (alpha * real.detach() + (1.0 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(mixed).flatten(1).mean(dim=1)  # one score per sample
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    penalty: torch.Tensor = weight * ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()
    return penalty
