"""What every trainable GAN shares beyond its own step: the GAN loss terms, the discriminator loss,
learning-rate schedules, and checkpoints of its named networks and optimisers.

A model subclasses ``GanModel``, lists its networks in ``NETWORKS`` and sets ``cfg``, ``opt_G``,
``opt_D``, ``sched_G``, ``sched_D``; ``setup_gan_loss`` picks the loss from ``cfg.loss``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from geocolor.models.init import init_weights
from geocolor.models.losses import D_LOSS_WEIGHT, GAN_LOSSES, gradient_penalty
from geocolor.train.config import TrainConfig
from geocolor.train.schedules import steps_per_iteration


class GanModel:
    NETWORKS: tuple[str, ...] = ()
    OPTIMISERS = ("opt_G", "opt_D", "sched_G", "sched_D")
    cfg: TrainConfig
    device: torch.device

    def setup_gan_loss(self) -> None:
        loss = self.cfg.loss
        self.gan = GAN_LOSSES[loss.gan_mode]
        self.d_weight = D_LOSS_WEIGHT[loss.gan_mode]
        self.lambda_gp = loss.lambda_gp if loss.gan_mode == "wgangp" else None

    def init_net(self, net: nn.Module) -> nn.Module:
        """Initialise ``net`` as the config says and move it to the model's device."""
        return init_weights(net, self.cfg.model.init, self.cfg.model.init_gain).to(self.device)

    def d_loss(self, d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """One discriminator's weighted loss on real and (detached) fake inputs, plus the WGAN-GP
        penalty when used; and its unweighted ``real`` and ``fake`` terms (and ``gp``) for the log."""
        fake_term = self.gan(d(fake.detach()), False, True)
        real_term = self.gan(d(real), True, True)
        total = self.d_weight * (fake_term + real_term)
        logged = {"real": real_term.item(), "fake": fake_term.item()}
        if self.lambda_gp is not None:
            gp = gradient_penalty(d, real, fake, self.lambda_gp)
            total = total + gp
            logged["gp"] = gp.item()
        return total, logged

    def step_schedulers(self) -> None:
        """Advance the per-step learning-rate policies (the plateau policy waits for evaluations)."""
        for sched in (self.sched_G, self.sched_D):
            if steps_per_iteration(sched):
                sched.step()

    def on_evaluation(self, delta_e: float) -> None:
        """Step the plateau schedulers on the held-out CIEDE2000 (no-op for per-step policies)."""
        for sched in (self.sched_G, self.sched_D):
            if not steps_per_iteration(sched):
                sched.step(delta_e)

    def state_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name).state_dict() for name in self.NETWORKS + self.OPTIMISERS}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in self.NETWORKS + self.OPTIMISERS:
            getattr(self, name).load_state_dict(state[name])
