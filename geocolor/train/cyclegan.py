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
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from geocolor.models.encoding import encoding_for
from geocolor.models.init import init_weights
from geocolor.models.losses import D_LOSS_WEIGHT, GAN_LOSSES, gradient_penalty
from geocolor.models.registry import build_discriminator, build_generator
from geocolor.train.config import TrainConfig, identity_weight
from geocolor.train.pix2pix import generator_arch
from geocolor.train.pool import ImagePool
from geocolor.train.precision import Precision, Prepared, prepare
from geocolor.train.schedules import make_scheduler, steps_per_iteration

NETWORKS = ("G_A", "G_B", "D_A", "D_B")
OPTIMISERS = ("opt_G", "opt_D", "sched_G", "sched_D")


class CycleGAN:
    """Two generators (gray -> colour ``G_A``, colour -> gray ``G_B``), two discriminators, image pools."""

    unpaired = True  # the trainer draws inputs and targets from different chips
    performance_options = True  # AMP / compile / DDP through geocolor.train.precision (see trainer)

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        m, loss = cfg.model, cfg.loss
        self.cfg = cfg
        self.device = device
        self.encoding = encoding_for(m.color_space)
        self.in_ch, self.out_ch = self.encoding.in_channels, self.encoding.out_channels
        self.arch = generator_arch(m, self.in_ch, self.out_ch)
        self.precision = Precision.for_config(cfg, device)
        self.nets = {
            "G_A": self._init(build_generator(self.arch)),
            "G_B": self._init(build_generator(generator_arch(m, self.out_ch, self.in_ch))),
            "D_A": self._discriminator(self.out_ch),
            "D_B": self._discriminator(self.in_ch),
        }
        self.G_A, self.G_B, self.D_A, self.D_B = (self.nets[name].module for name in NETWORKS)
        self.G = self.G_A
        o = cfg.optim
        gens = itertools.chain(self.G_A.parameters(), self.G_B.parameters())
        discs = itertools.chain(self.D_A.parameters(), self.D_B.parameters())
        self.opt_G = torch.optim.Adam(gens, lr=o.lr, betas=(o.beta1, o.beta2))
        self.opt_D = torch.optim.Adam(discs, lr=o.lr_d or o.lr, betas=(o.beta1, o.beta2))
        self.sched_G = make_scheduler(self.opt_G, cfg)
        self.sched_D = make_scheduler(self.opt_D, cfg)
        self.pool_A = ImagePool(m.pool_size)  # fake gray images, for D_B
        self.pool_B = ImagePool(m.pool_size)  # fake colour images, for D_A
        self.gan = GAN_LOSSES[loss.gan_mode]
        self.d_weight = D_LOSS_WEIGHT[loss.gan_mode]
        self.lambda_gp = loss.lambda_gp if loss.gan_mode == "wgangp" else None
        self.lambda_identity = identity_weight(loss, m.color_space)
        self.training_info = {
            "lambda_a": loss.lambda_a,
            "lambda_b": loss.lambda_b,
            "lambda_identity": self.lambda_identity,
            "pool_size": m.pool_size,
        }

    def _init(self, net: nn.Module) -> Prepared:
        return prepare(init_weights(net, self.cfg.model.init, self.cfg.model.init_gain).to(self.device), self.cfg, self.device)

    def _discriminator(self, in_ch: int) -> Prepared:
        m = self.cfg.model
        return self._init(build_discriminator(m.discriminator, in_ch, m.ndf, m.n_layers_d, m.discriminator_norm, m.spectral_norm))

    # -- the training step ---------------------------------------------------------------------
    def _generator_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
        """Update both generators with the discriminators frozen; return the fakes (A and B) and the losses."""
        self.D_A.requires_grad_(False)
        self.D_B.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        loss = self.cfg.loss
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
        self.precision.backward(sum(terms.values()))  # type: ignore[arg-type]
        self.precision.step(self.opt_G)
        return fake_a.detach().float(), fake_b.detach().float(), {k: v.item() for k, v in terms.items()}

    def _d_loss(self, name: str, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, float]:
        """One discriminator's weighted loss (with the WGAN-GP penalty when used) and its logged value."""
        d = self.nets[name]
        with self.precision.autocast():
            pred_fake, pred_real = d.train(fake), d.train(real)
        adversarial = self.d_weight * (self.gan(pred_fake.float(), False, True) + self.gan(pred_real.float(), True, True))
        if self.lambda_gp is None:
            return adversarial, adversarial.item()
        return adversarial + gradient_penalty(d.module, real, fake, self.lambda_gp), adversarial.item()

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
        for net in (self.G_A, self.G_B, self.D_A, self.D_B):
            net.train()
        fake_a, fake_b, losses = self._generator_step(inp, target)
        losses.update(self._discriminator_step(inp, target, fake_a, fake_b))
        self.precision.update()
        for sched in (self.sched_G, self.sched_D):
            if steps_per_iteration(sched):
                sched.step()
        return losses

    def on_evaluation(self, delta_e: float) -> None:
        """Step the plateau schedulers on the held-out CIEDE2000 (no-op for per-step policies)."""
        for sched in (self.sched_G, self.sched_D):
            if not steps_per_iteration(sched):
                sched.step(delta_e)

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = {name: getattr(self, name).state_dict() for name in NETWORKS + OPTIMISERS}
        state["pool_A"] = self.pool_A.state_dict()
        state["pool_B"] = self.pool_B.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in NETWORKS + OPTIMISERS:
            getattr(self, name).load_state_dict(state[name])
        self.pool_A.load_state_dict(state["pool_A"])
        self.pool_B.load_state_dict(state["pool_B"])
