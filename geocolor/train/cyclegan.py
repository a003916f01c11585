"""CycleGAN: unpaired gray <-> colour translation with cycle consistency (Zhu et al. 2017).

Domain A is the network input encoding (L* for ``lab``, gray as 3 channels for ``rgb``), domain B the
colour target encoding (a*b* for ``lab``, sRGB for ``rgb``), exactly as for pix2pix, so ``G_A``
(A -> B, also ``.G``) is exported and used by mosaic like a pix2pix generator. ``G_B`` maps colour
back to gray. Two unconditional discriminators judge single images: ``D_A`` colour (domain B),
``D_B`` gray (domain A). The batches of A and B come from different chips (the trainer draws them
independently), so nothing ties a colour image to its gray input but the cycles:

- GAN: ``G_A`` fools ``D_A`` and ``G_B`` fools ``D_B`` (any of ``GAN_LOSSES``; the paper uses lsgan).
- cycle: ``lambda_a * |G_B(G_A(a)) - a|_1 + lambda_b * |G_A(G_B(b)) - b|_1``.
- identity (``rgb`` only, where both domains are 3-channel images): ``lambda_identity`` times
  ``lambda_b * |G_A(b) - b|_1 + lambda_a * |G_B(a) - a|_1``. In ``lab`` the domains have 1 and 2
  channels, so an identity mapping does not exist; the config refuses ``lambda_identity > 0`` there.

The step is the classic one: both generators forward, one generator update with the discriminators
frozen, then both discriminators on the real images and on fakes drawn from an ``ImagePool`` of 50,
their loss halved (WGAN-GP: whole, plus the gradient penalty). One Adam optimises both generators,
one both discriminators, with the config's learning rates (``lr``, ``lr_d``), betas and lr policy.
Mixed precision, channels_last, torch.compile and DDP come from ``geocolor.train.precision``.
Options (``model.options``): ``CycleGANOptions``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from geocolor.errors import ConfigError
from geocolor.models.encoding import encoding_for
from geocolor.models.registry import build_discriminator, build_generator
from geocolor.train.base import TrainableModel
from geocolor.train.config import TrainConfig
from geocolor.train.pix2pix import generator_arch
from geocolor.train.pool import ImagePool


@dataclass
class CycleGANOptions:
    """``model.options`` of cyclegan."""

    pool_size: int = 50  # fakes kept for the discriminator updates (0: no history)
    lambda_a: float = 10.0  # cycle L1 weight gray -> colour -> gray
    lambda_b: float = 10.0  # cycle L1 weight colour -> gray -> colour
    # identity loss, as a fraction of lambda_a / lambda_b; None: 0.5 for rgb (the CycleGAN convention),
    # 0 for lab, where the domains differ in channel count (L* vs a*b*)
    lambda_identity: float | None = None


def identity_weight(options: CycleGANOptions, color_space: str) -> float:
    """The effective ``lambda_identity``: the configured one, else 0.5 for rgb and 0 for lab."""
    if options.lambda_identity is not None:
        return options.lambda_identity
    return 0.5 if color_space == "rgb" else 0.0


class CycleGAN(TrainableModel):
    """Two generators (gray -> colour ``G_A``, colour -> gray ``G_B``), two discriminators, image pools."""

    Options = CycleGANOptions
    unpaired = True  # the trainer draws inputs and targets from different chips
    networks = ("G_A", "G_B", "D_A", "D_B")

    @classmethod
    def validate(cls, cfg: TrainConfig, options: Any) -> None:
        o = options
        if min(o.lambda_a, o.lambda_b, o.lambda_identity or 0.0) < 0 or o.pool_size < 0:
            raise ConfigError("model.options.lambda_a, lambda_b, lambda_identity and pool_size must be >= 0")
        if (o.lambda_identity or 0.0) > 0 and cfg.model.color_space != "rgb":
            raise ConfigError(
                "the identity loss needs both domains in the same shape, but lab maps L* (1 channel) to a*b* "
                "(2 channels): set model.color_space: rgb, or model.options.lambda_identity: 0"
            )

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        super().__init__(cfg, device)
        m, o = cfg.model, self.options
        self.encoding = encoding_for(m.color_space)
        self.in_ch, self.out_ch = self.encoding.in_channels, self.encoding.out_channels
        self.arch = generator_arch(m, self.in_ch, self.out_ch)
        self.G_A = self.add_network("G_A", build_generator(self.arch))
        self.G_B = self.add_network("G_B", build_generator(generator_arch(m, self.out_ch, self.in_ch)))
        self.D_A = self.add_network("D_A", self._discriminator(self.out_ch))
        self.D_B = self.add_network("D_B", self._discriminator(self.in_ch))
        self.G = self.G_A
        self.make_optimisers(list(itertools.chain(self.G_A.parameters(), self.G_B.parameters())),
                             list(itertools.chain(self.D_A.parameters(), self.D_B.parameters())))
        self.pool_A = ImagePool(o.pool_size)  # fake gray images, for D_B
        self.pool_B = ImagePool(o.pool_size)  # fake colour images, for D_A
        self.lambda_identity = identity_weight(o, m.color_space)
        self.training_info = {
            "lambda_a": o.lambda_a,
            "lambda_b": o.lambda_b,
            "lambda_identity": self.lambda_identity,
            "pool_size": o.pool_size,
        }

    def _discriminator(self, in_ch: int) -> torch.nn.Module:
        m = self.cfg.model
        return build_discriminator(m.discriminator, in_ch, m.ndf, m.n_layers_d, m.discriminator_norm, m.spectral_norm)

    # -- the training step ---------------------------------------------------------------------
    def _generator_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
        """Update both generators with the discriminators frozen; return the fakes (A and B) and the losses."""
        self.D_A.requires_grad_(False)
        self.D_B.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        loss = self.options
        g_a, g_b = self.nets["G_A"].train, self.nets["G_B"].train
        with self.precision.autocast():
            fake_b, fake_a = g_a(real_a), g_b(real_b)
            outs = {
                "g_gan_a": self.nets["D_A"].frozen(fake_b),
                "g_gan_b": self.nets["D_B"].frozen(fake_a),
                "g_cycle_a": g_b(fake_b),
                "g_cycle_b": g_a(fake_a),
            }
            if self.lambda_identity > 0:
                outs["g_idt_a"], outs["g_idt_b"] = g_a(real_b), g_b(real_a)
        outs = {k: v.float() for k, v in outs.items()}
        terms = {
            "g_gan_a": self.gan(outs["g_gan_a"], True, False),
            "g_gan_b": self.gan(outs["g_gan_b"], True, False),
            "g_cycle_a": F.l1_loss(outs["g_cycle_a"], real_a) * loss.lambda_a,
            "g_cycle_b": F.l1_loss(outs["g_cycle_b"], real_b) * loss.lambda_b,
        }
        if self.lambda_identity > 0:
            terms["g_idt_a"] = F.l1_loss(outs["g_idt_a"], real_b) * loss.lambda_b * self.lambda_identity
            terms["g_idt_b"] = F.l1_loss(outs["g_idt_b"], real_a) * loss.lambda_a * self.lambda_identity
        self.precision.backward(sum(terms.values()))
        self.precision.step(self.opt_G)
        return fake_a.detach().float(), fake_b.detach().float(), {k: v.item() for k, v in terms.items()}

    def _d_loss(self, name: str, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, float]:
        """One discriminator's weighted loss (with the WGAN-GP penalty when used) and its logged value."""
        total, logged = self.d_loss(name, real, fake)
        return total, self.d_weight * (logged["real"] + logged["fake"])

    def _discriminator_step(self, real_a: torch.Tensor, real_b: torch.Tensor, fake_a: torch.Tensor, fake_b: torch.Tensor) -> dict[str, float]:
        self.D_A.requires_grad_(True)
        self.D_B.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=True)
        loss_a, d_a = self._d_loss("D_A", real_b, self.pool_B.query(fake_b))
        loss_b, d_b = self._d_loss("D_B", real_a, self.pool_A.query(fake_a))
        self.precision.backward(loss_a + loss_b)
        self.precision.step(self.opt_D)
        out = {"d_a": d_a, "d_b": d_b}
        if self.lambda_gp is not None:
            out["d_gp"] = (loss_a + loss_b).item() - d_a - d_b
        return out

    def train_step(self, inp: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """One CycleGAN step on a gray batch ``inp`` (domain A) and an unrelated colour batch ``target`` (B)."""
        self.set_train()
        fake_a, fake_b, losses = self._generator_step(inp, target)
        losses.update(self._discriminator_step(inp, target, fake_a, fake_b))
        self.precision.update()
        self.step_schedulers()
        return losses

    def adversarial_balance(self, losses: dict[str, float]) -> tuple[float, float] | None:
        """The pair whose discriminator is lower: ``D_A`` judges ``G_A``'s fakes (``d_a`` with ``g_gan_a``), ``D_B`` ``G_B``'s."""
        side = "a" if losses["d_a"] <= losses["d_b"] else "b"
        return losses[f"d_{side}"], losses[f"g_gan_{side}"]

    # -- checkpoints ---------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {"pool_A": self.pool_A.state_dict(), "pool_B": self.pool_B.state_dict()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.pool_A.load_state_dict(state["pool_A"])
        self.pool_B.load_state_dict(state["pool_B"])
