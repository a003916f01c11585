"""BicycleGAN: multimodal paired gray -> colour translation, cVAE-GAN + cLR-GAN (Zhu et al. 2017).

Networks: a z-conditioned U-Net ``G(a, z)`` (``geocolor.models.zgenerators``; ``model.z_position``
input / all / middle, ``model.nz`` numbers), a latent encoder ``E(b) -> (mu, logvar)``
(``model.encoder`` resnet or conv, width ``model.nef``) and two conditional PatchGANs on
(gray, colour) pairs: ``D_vae`` for the cVAE-GAN fakes, ``D_lr`` for the cLR-GAN fakes.

Each batch is split in halves. On the first half (a, b):

- cVAE-GAN: z ~ E(b) (reparameterised), ``G(a, z)`` should be b: ``lambda_l1 * |G(a, z) - b|_1``
  (BicycleGAN uses 10; the config default 100 is pix2pix's), ``D_vae`` adversarial, and
  ``lambda_kl * KL(N(mu, sigma) || N(0, I))`` (summed over the code, averaged over the batch);
- cLR-GAN: z ~ N(0, I), ``G(a, z)`` judged by ``D_lr`` (whose real pairs are the second half), and
  the latent regression ``lambda_z * |mu(E(G(a, z))) - z|_1``. That last term trains ``G`` only: its
  gradient is not accumulated into ``E`` (E's weights are frozen for that pass).

``G`` and ``E`` are updated together (one Adam), then both discriminators on the detached fakes
(their loss weighted as in ``D_LOSS_WEIGHT``; WGAN-GP adds its penalty). ``.G`` is exported: called
without z it uses z = 0, the prior's mean, so ``mosaic`` gives the most typical colouring; the
architecture in the model file holds ``nz`` and ``z_position``. Options (``model.options``):
``BicycleGANOptions``. Mixed precision, channels_last and DDP come from the base (one backward pass
per step: the latent regression runs through ``E`` with its weights frozen, so it trains ``G`` only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from geocolor.errors import ConfigError
from geocolor.models.encoders import ENCODERS, build_encoder
from geocolor.models.encoding import encoding_for
from geocolor.models.registry import build_discriminator
from geocolor.models.zgenerators import UNET_DOWNS, Z_POSITIONS, build_z_generator
from geocolor.train.base import TrainableModel
from geocolor.train.config import TrainConfig
from geocolor.train.pix2pix import generator_arch


@dataclass
class BicycleGANOptions:
    """``model.options`` of bicyclegan."""

    nz: int = 8  # latent code length
    z_position: str = "input"  # where z enters the U-Net: input, all (every down block) or middle (bottleneck)
    encoder: str = "resnet"  # the latent encoder E: resnet (residual down blocks) or conv
    nef: int | None = None  # the encoder's base width; None: same as model.ngf
    lambda_kl: float = 0.01  # KL(E(B) || N(0, I)) weight (cVAE-GAN)
    lambda_z: float = 0.5  # latent regression L1 |E(G(A, z)) - z| weight (cLR-GAN)


def validate_bicyclegan(cfg: TrainConfig, options: BicycleGANOptions) -> None:
    """Refuse a bicyclegan config that cannot train, naming the setting to change."""
    m, o = cfg.model, options
    if m.generator not in UNET_DOWNS:
        raise ConfigError(f"bicyclegan needs a U-Net generator ({', '.join(UNET_DOWNS)}), not {m.generator!r}")
    if o.z_position not in Z_POSITIONS:
        raise ConfigError(f"unknown model.options.z_position {o.z_position!r}; choose one of {', '.join(Z_POSITIONS)}")
    if o.encoder not in ENCODERS:
        raise ConfigError(f"unknown model.options.encoder {o.encoder!r}; choose one of {', '.join(ENCODERS)}")
    if o.nz < 1 or (o.nef is not None and o.nef < 1):
        raise ConfigError("model.options.nz and model.options.nef must be at least 1")
    if cfg.data.batch_size < 2:
        raise ConfigError("bicyclegan splits each batch in a cVAE-GAN half and a cLR-GAN half: set data.batch_size >= 2")
    if min(o.lambda_kl, o.lambda_z, cfg.loss.lambda_l1) < 0:
        raise ConfigError("model.options.lambda_kl, model.options.lambda_z and loss.lambda_l1 must be >= 0")


def kl_to_prior(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over the code, averaged over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(1).mean()


class BicycleGAN(TrainableModel):
    """z-conditioned U-Net, latent encoder, two conditional discriminators, their optimisers."""

    Options = BicycleGANOptions
    networks = ("G", "E", "D_vae", "D_lr")

    @classmethod
    def validate(cls, cfg: TrainConfig, options: Any) -> None:
        validate_bicyclegan(cfg, options)

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        super().__init__(cfg, device)
        m, o = cfg.model, self.options
        self.encoding = encoding_for(m.color_space)
        self.in_ch, self.out_ch = self.encoding.in_channels, self.encoding.out_channels
        self.arch = {**generator_arch(m, self.in_ch, self.out_ch), "nz": o.nz, "z_position": o.z_position}
        self.G = self.add_network("G", build_z_generator(self.arch))
        self.E = self.add_network("E", build_encoder(o.encoder, self.out_ch, o.nz, nef=o.nef or m.ngf, norm=m.norm))
        self.D_vae = self.add_network("D_vae", self._discriminator())
        self.D_lr = self.add_network("D_lr", self._discriminator())
        self.make_optimisers([*self.G.parameters(), *self.E.parameters()], [*self.D_vae.parameters(), *self.D_lr.parameters()])
        self.training_info = {
            "nz": o.nz, "z_position": o.z_position, "encoder": o.encoder, "nef": o.nef or m.ngf,
            "lambda_kl": o.lambda_kl, "lambda_z": o.lambda_z,
        }

    def _discriminator(self) -> torch.nn.Module:
        m = self.cfg.model
        return build_discriminator(m.discriminator, self.in_ch + self.out_ch, m.ndf, m.n_layers_d, m.discriminator_norm, m.spectral_norm)

    # -- the training step ---------------------------------------------------------------------
    def _generator_step(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
        """Update G and E with the discriminators frozen; return the two fakes and the losses."""
        o, amp = self.options, self.precision
        self.D_vae.requires_grad_(False)
        self.D_lr.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        g, e = self.nets["G"].train, self.nets["E"].train
        with amp.autocast():
            mu, logvar = (t.float() for t in e(b))
            z_encoded = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            z_random = torch.randn(a.shape[0], o.nz, device=a.device)
            fake_encoded = g(a, z_encoded).float()
            fake_random = g(a, z_random).float()
            pred_vae = self.nets["D_vae"].frozen(torch.cat([a, fake_encoded], 1)).float()
            pred_lr = self.nets["D_lr"].frozen(torch.cat([a, fake_random], 1)).float()
        terms = {
            "g_gan_vae": self.gan(pred_vae, True, False),
            "g_gan_lr": self.gan(pred_lr, True, False),
            "g_l1": F.l1_loss(fake_encoded, b) * self.cfg.loss.lambda_l1,
            "kl": kl_to_prior(mu, logvar) * o.lambda_kl,
        }
        if o.lambda_z > 0:
            # latent regression: its gradient reaches G through the fake, never E (E's weights are frozen
            # for this pass), so one backward pass serves every term (and DDP)
            self.E.requires_grad_(False)
            with amp.autocast():
                mu_again = self.E(fake_random)[0].float()
            self.E.requires_grad_(True)
            terms["z_l1"] = (mu_again - z_random).abs().mean() * o.lambda_z
        amp.backward(sum(terms.values()))
        out = {k: v.item() for k, v in terms.items()}
        amp.step(self.opt_G)
        return fake_encoded.detach(), fake_random.detach(), out

    def train_step(self, inp: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """One BicycleGAN step on a paired batch: the first half encoded (cVAE-GAN), z drawn for cLR-GAN."""
        self.set_train()
        half = inp.shape[0] // 2
        a, b = inp[:half], target[:half]
        fake_encoded, fake_random, losses = self._generator_step(a, b)
        self.D_vae.requires_grad_(True)
        self.D_lr.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=True)
        loss_vae, vae = self.d_loss("D_vae", torch.cat([a, b], 1), torch.cat([a, fake_encoded], 1))
        loss_lr, lr = self.d_loss("D_lr", torch.cat([inp[half:], target[half:]], 1), torch.cat([a, fake_random], 1))
        self.precision.backward(loss_vae + loss_lr)
        self.precision.step(self.opt_D)
        self.precision.update()
        losses["d_vae"] = self.d_weight * (vae["real"] + vae["fake"])
        losses["d_lr"] = self.d_weight * (lr["real"] + lr["fake"])
        if self.lambda_gp is not None:
            losses["d_gp"] = vae["gp"] + lr["gp"]
        self.step_schedulers()
        return losses

    def adversarial_balance(self, losses: dict[str, float]) -> tuple[float, float] | None:
        """The pair whose discriminator is lower: ``D_vae`` judges the encoded-z fakes, ``D_lr`` the random-z ones."""
        side = "vae" if losses["d_vae"] <= losses["d_lr"] else "lr"
        return losses[f"d_{side}"], losses[f"g_gan_{side}"]
