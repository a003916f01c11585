"""pix2pix: a conditional GAN with an L1 term (Isola et al. 2017), for gray -> colour.

The training step is the classic one: forward the generator; update the discriminator on the real
pair and on the detached fake pair (plus the gradient penalty for WGAN-GP); then update the
generator with the discriminator frozen, on the GAN loss plus ``lambda_l1`` times L1 to the target.
Networks, GAN loss, colour space (input/output channels) and optimiser settings come from the typed
config; what the network sees and predicts is defined by ``geocolor.models.encoding``. Mixed
precision, channels_last, torch.compile and DDP come from ``geocolor.train.precision``.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F

from geocolor.errors import ConfigError
from geocolor.models.encoding import encoding_for
from geocolor.models.init import init_weights
from geocolor.models.losses import D_LOSS_WEIGHT, GAN_LOSSES, gradient_penalty
from geocolor.models.registry import build_discriminator, build_generator
from geocolor.train.config import ModelConfig, TrainConfig
from geocolor.train.precision import Precision, prepare
from geocolor.train.schedules import make_scheduler, steps_per_iteration
from geocolor.train.warmstart import warm_start

log = logging.getLogger(__name__)


def generator_arch(m: ModelConfig, in_ch: int, out_ch: int) -> dict[str, Any]:
    """The architecture dict (as stored in model files) of a generator from ``in_ch`` to ``out_ch`` channels."""
    return {"generator": m.generator, "in_channels": in_ch, "out_channels": out_ch, "ngf": m.ngf, "norm": m.norm, "dropout": m.dropout}


class Pix2Pix:
    """Generator + PatchGAN discriminator, their optimisers and schedulers."""

    performance_options = True  # AMP / compile / DDP through geocolor.train.precision (see trainer)

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        m = cfg.model
        if cfg.loss.gan_mode not in GAN_LOSSES:
            raise ConfigError(f"unknown gan_mode {cfg.loss.gan_mode!r}; choose one of {', '.join(GAN_LOSSES)}")
        self.cfg = cfg
        self.device = device
        self.encoding = encoding_for(m.color_space)
        self.in_ch, self.out_ch = self.encoding.in_channels, self.encoding.out_channels
        self.arch = self._generator_arch(m)
        self.precision = Precision.for_config(cfg, device)
        G = init_weights(build_generator(self.arch), m.init, m.init_gain)
        if hasattr(G, "zero_film"):  # a style generator starts as its plain U-Net (the init above randomised FiLM)
            G.zero_film()
        if m.init_from:
            log.info("warm start: %s", warm_start(G, m.init_from))
        D = init_weights(
            build_discriminator(
                m.discriminator, self._d_in_channels(), m.ndf, m.n_layers_d, m.discriminator_norm, m.spectral_norm
            ),
            m.init,
            m.init_gain,
        )
        self.nets = {"G": prepare(G.to(device), cfg, device), "D": prepare(D.to(device), cfg, device)}
        self.G, self.D = self.nets["G"].module, self.nets["D"].module
        o = cfg.optim
        self.opt_G = torch.optim.Adam(self._generator_parameters(), lr=o.lr, betas=(o.beta1, o.beta2))
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=o.lr_d or o.lr, betas=(o.beta1, o.beta2))
        self.sched_G = make_scheduler(self.opt_G, cfg)
        self.sched_D = make_scheduler(self.opt_D, cfg)
        self.gan = GAN_LOSSES[cfg.loss.gan_mode]
        self.d_weight = D_LOSS_WEIGHT[cfg.loss.gan_mode]
        self.use_gp = cfg.loss.gan_mode == "wgangp"

    def _generator_parameters(self) -> list[torch.nn.Parameter]:
        """What the generator optimiser trains (a subclass may add parameters outside G)."""
        return list(self.G.parameters())

    def _generator_arch(self, m: ModelConfig) -> dict[str, Any]:
        """The generator's architecture dict (a subclass may add to it)."""
        return generator_arch(m, self.in_ch, self.out_ch)

    def _d_in_channels(self) -> int:
        """Channels the discriminator sees: the condition and the (real or fake) colour."""
        return self.in_ch + self.out_ch

    def _discriminator_step(self, inp: torch.Tensor, fake: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        amp = self.precision
        self.D.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=True)
        fake_pair = torch.cat([inp, fake.detach()], 1)
        real_pair = torch.cat([inp, target], 1)
        with amp.autocast():
            pred_fake, pred_real = self.nets["D"].train(fake_pair), self.nets["D"].train(real_pair)
        loss_d_fake = self.gan(pred_fake.float(), False, True)
        loss_d_real = self.gan(pred_real.float(), True, True)
        loss_d = self.d_weight * (loss_d_fake + loss_d_real)
        out = {"d_real": loss_d_real.item(), "d_fake": loss_d_fake.item()}
        if self.use_gp:
            gp = gradient_penalty(self.D, real_pair.float(), fake_pair.float(), self.cfg.loss.lambda_gp)
            loss_d = loss_d + gp
            out["d_gp"] = gp.item()
        amp.backward(loss_d)
        amp.step(self.opt_D)
        return out

    def train_step(self, inp: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        amp = self.precision
        self.G.train()
        self.D.train()
        with amp.autocast():
            fake = self.nets["G"].train(inp)
        lambda_gan = self.cfg.loss.lambda_gan
        losses = self._discriminator_step(inp, fake, target) if lambda_gan > 0 else {}
        self.D.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        if lambda_gan > 0:
            with amp.autocast():
                pred = self.nets["D"].frozen(torch.cat([inp, fake], 1))
            loss_g_gan = self.gan(pred.float(), True, False) * lambda_gan
        else:
            loss_g_gan = torch.zeros((), device=fake.device)
        loss_g_l1 = F.l1_loss(fake.float(), target) * self.cfg.loss.lambda_l1
        amp.backward(loss_g_gan + loss_g_l1)
        amp.step(self.opt_G)
        amp.update()
        for sched in (self.sched_G, self.sched_D):
            if steps_per_iteration(sched):
                sched.step()
        return {**losses, "g_gan": loss_g_gan.item(), "g_l1": loss_g_l1.item()}

    def on_evaluation(self, delta_e: float) -> None:
        """Step the plateau schedulers on the held-out CIEDE2000 (no-op for per-step policies)."""
        for sched in (self.sched_G, self.sched_D):
            if not steps_per_iteration(sched):
                sched.step(delta_e)

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
