"""pix2pix: a conditional GAN with an L1 term (Isola et al. 2017), for L* -> a*b* colorization.

The training step is the classic one: forward the generator; update the discriminator on the real
pair and on the detached fake pair; then update the generator with the discriminator frozen, on the
GAN loss plus ``lambda_l1`` times L1 to the target. Networks, GAN loss and optimiser settings come
from the typed config.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from geocolor.errors import ConfigError
from geocolor.models.init import init_weights
from geocolor.models.losses import GAN_LOSSES
from geocolor.models.registry import build_discriminator, build_generator
from geocolor.train.config import TrainConfig


def _lr_lambda(cfg: TrainConfig):  # type: ignore[no-untyped-def]
    start = int(cfg.steps * cfg.optim.decay_start)
    if cfg.optim.policy == "constant":
        return lambda step: 1.0
    if cfg.optim.policy == "linear":
        return lambda step: 1.0 if step < start else max(0.0, 1.0 - (step - start) / max(1, cfg.steps - start))
    raise ConfigError(f"unknown lr policy {cfg.optim.policy!r}; choose linear or constant")


class Pix2Pix:
    """Generator + PatchGAN discriminator, their optimisers and schedulers."""

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        m = cfg.model
        if cfg.loss.gan_mode not in GAN_LOSSES:
            raise ConfigError(f"unknown gan_mode {cfg.loss.gan_mode!r}; choose one of {', '.join(GAN_LOSSES)}")
        self.cfg = cfg
        self.device = device
        self.in_ch, self.out_ch = 1, 2
        self.arch: dict[str, Any] = {
            "generator": m.generator,
            "in_channels": self.in_ch,
            "out_channels": self.out_ch,
            "ngf": m.ngf,
            "norm": m.norm,
            "dropout": m.dropout,
        }
        self.G = init_weights(build_generator(self.arch), m.init, m.init_gain).to(device)
        self.D = init_weights(
            build_discriminator(m.discriminator, self.in_ch + self.out_ch, m.ndf, m.n_layers_d, m.norm), m.init, m.init_gain
        ).to(device)
        o = cfg.optim
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=o.lr, betas=(o.beta1, o.beta2))
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=o.lr_d or o.lr, betas=(o.beta1, o.beta2))
        self.sched_G = torch.optim.lr_scheduler.LambdaLR(self.opt_G, _lr_lambda(cfg))
        self.sched_D = torch.optim.lr_scheduler.LambdaLR(self.opt_D, _lr_lambda(cfg))
        self.gan = GAN_LOSSES[cfg.loss.gan_mode]

    def train_step(self, inp: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        self.G.train()
        self.D.train()
        fake = self.G(inp)
        self.D.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=True)
        loss_d_fake = self.gan(self.D(torch.cat([inp, fake.detach()], 1)), False)
        loss_d_real = self.gan(self.D(torch.cat([inp, target], 1)), True)
        loss_d = 0.5 * (loss_d_fake + loss_d_real)
        loss_d.backward()
        self.opt_D.step()
        self.D.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        loss_g_gan = self.gan(self.D(torch.cat([inp, fake], 1)), True)
        loss_g_l1 = F.l1_loss(fake, target) * self.cfg.loss.lambda_l1
        (loss_g_gan + loss_g_l1).backward()
        self.opt_G.step()
        self.sched_G.step()
        self.sched_D.step()
        return {
            "d_real": loss_d_real.item(),
            "d_fake": loss_d_fake.item(),
            "g_gan": loss_g_gan.item(),
            "g_l1": loss_g_l1.item(),
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_G": self.opt_G.state_dict(),
            "opt_D": self.opt_D.state_dict(),
            "sched_G": self.sched_G.state_dict(),
            "sched_D": self.sched_D.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_G.load_state_dict(state["opt_G"])
        self.opt_D.load_state_dict(state["opt_D"])
        self.sched_G.load_state_dict(state["sched_G"])
        self.sched_D.load_state_dict(state["sched_D"])


MODELS = {"pix2pix": Pix2Pix}
