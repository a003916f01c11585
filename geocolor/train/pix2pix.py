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

from geocolor.models.chroma_loss import chroma_excess
from geocolor.models.encoding import encoding_for
from geocolor.models.init import init_weights
from geocolor.models.losses import gradient_penalty
from geocolor.models.registry import build_discriminator, build_generator
from geocolor.train.base import TrainableModel
from geocolor.train.config import ModelConfig, TrainConfig

log = logging.getLogger(__name__)


def generator_arch(m: ModelConfig, in_ch: int, out_ch: int) -> dict[str, Any]:
    """The architecture dict (as stored in model files) of a generator from ``in_ch`` to ``out_ch`` channels."""
    return {"generator": m.generator, "in_channels": in_ch, "out_channels": out_ch, "ngf": m.ngf, "norm": m.norm, "dropout": m.dropout}


class Pix2Pix(TrainableModel):
    """Generator + PatchGAN discriminator, their optimisers and schedulers."""

    warm_startable = True
    chroma_penalty = True

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        super().__init__(cfg, device)
        m = cfg.model
        self.encoding = encoding_for(m.color_space)
        self.in_ch, self.out_ch = self.encoding.in_channels, self.encoding.out_channels
        self.arch = self._generator_arch(m)
        G = init_weights(build_generator(self.arch), m.init, m.init_gain)
        zero_film = getattr(G, "zero_film", None)
        if callable(zero_film):  # a style generator starts as its plain U-Net (the init above randomised FiLM)
            zero_film()
        self.warm_start(G)
        self.G = self.add_network("G", G, init=False)
        self.D = self.add_network("D", build_discriminator(
            m.discriminator, self._d_in_channels(), m.ndf, m.n_layers_d, m.discriminator_norm, m.spectral_norm))
        self.make_optimisers(self._generator_parameters(), list(self.D.parameters()))

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
        if self.lambda_gp is not None:
            gp = gradient_penalty(self.D, real_pair.float(), fake_pair.float(), self.lambda_gp)
            loss_d = loss_d + gp
            out["d_gp"] = gp.item()
        amp.backward(loss_d)
        amp.step(self.opt_D)
        return out

    def train_step(self, inp: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        amp = self.precision
        self.set_train()
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
        loss_g_chroma = self.chroma_term(fake, target)
        amp.backward(loss_g_gan + loss_g_l1 + loss_g_chroma)
        amp.step(self.opt_G)
        amp.update()
        self.step_schedulers(None if lambda_gan > 0 else ("sched_G",))  # L1 only: the discriminator does not train
        return {**losses, "g_gan": loss_g_gan.item(), "g_l1": loss_g_l1.item(), **self._chroma_figure(loss_g_chroma)}

    def chroma_term(self, fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``loss.lambda_chroma`` times the over-colour penalty (``geocolor.models.chroma_loss``); 0 when off."""
        loss = self.cfg.loss
        if loss.lambda_chroma <= 0:
            return torch.zeros((), device=fake.device)
        pred_ab, true_ab = self.encoding.decode_chroma(fake.float()), self.encoding.decode_chroma(target.float())
        return chroma_excess(pred_ab, true_ab, loss.neutral_chroma, loss.neutral_weight) * loss.lambda_chroma

    def _chroma_figure(self, term: torch.Tensor) -> dict[str, float]:
        return {"g_chroma": term.item()} if self.cfg.loss.lambda_chroma > 0 else {}
