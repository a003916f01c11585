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
  gradient is not accumulated into ``E`` (``backward(inputs=G's parameters)``).

``G`` and ``E`` are updated together (one Adam), then both discriminators on the detached fakes
(their loss weighted as in ``D_LOSS_WEIGHT``; WGAN-GP adds its penalty). ``.G`` is exported: called
without z it uses z = 0, the prior's mean, so ``mosaic`` gives the most typical colouring; the
architecture in the model file holds ``nz`` and ``z_position``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from geocolor.errors import ConfigError
from geocolor.models.encoders import ENCODERS, build_encoder
from geocolor.models.encoding import encoding_for
from geocolor.models.registry import build_discriminator
from geocolor.models.zgenerators import UNET_DOWNS, Z_POSITIONS, build_z_generator
from geocolor.train.config import TrainConfig
from geocolor.train.gan_model import GanModel
from geocolor.train.pix2pix import generator_arch
from geocolor.train.schedules import make_scheduler


def validate_bicyclegan(cfg: TrainConfig) -> None:
    """Refuse a bicyclegan config that cannot train, naming the setting to change."""
    m, loss = cfg.model, cfg.loss
    if m.generator not in UNET_DOWNS:
        raise ConfigError(f"bicyclegan needs a U-Net generator ({', '.join(UNET_DOWNS)}), not {m.generator!r}")
    if m.z_position not in Z_POSITIONS:
        raise ConfigError(f"unknown model.z_position {m.z_position!r}; choose one of {', '.join(Z_POSITIONS)}")
    if m.encoder not in ENCODERS:
        raise ConfigError(f"unknown model.encoder {m.encoder!r}; choose one of {', '.join(ENCODERS)}")
    if m.nz < 1 or (m.nef is not None and m.nef < 1):
        raise ConfigError("model.nz and model.nef must be at least 1")
    if cfg.data.batch_size < 2:
        raise ConfigError("bicyclegan splits each batch in a cVAE-GAN half and a cLR-GAN half: set data.batch_size >= 2")
    if min(loss.lambda_kl, loss.lambda_z, loss.lambda_l1) < 0:
        raise ConfigError("loss.lambda_kl, loss.lambda_z and loss.lambda_l1 must be >= 0")


def kl_to_prior(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), summed over the code, averaged over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(1).mean()


class BicycleGAN(GanModel):
    """z-conditioned U-Net, latent encoder, two conditional discriminators, their optimisers."""

    NETWORKS = ("G", "E", "D_vae", "D_lr")

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        validate_bicyclegan(cfg)
        m, loss, o = cfg.model, cfg.loss, cfg.optim
        self.cfg = cfg
        self.device = device
        self.encoding = encoding_for(m.color_space)
        self.in_ch, self.out_ch = self.encoding.in_channels, self.encoding.out_channels
        self.arch = {**generator_arch(m, self.in_ch, self.out_ch), "nz": m.nz, "z_position": m.z_position}
        self.G = self.init_net(build_z_generator(self.arch))
        self.E = self.init_net(build_encoder(m.encoder, self.out_ch, m.nz, nef=m.nef or m.ngf, norm=m.norm))
        self.D_vae = self._discriminator()
        self.D_lr = self._discriminator()
        self.opt_G = torch.optim.Adam([*self.G.parameters(), *self.E.parameters()], lr=o.lr, betas=(o.beta1, o.beta2))
        self.opt_D = torch.optim.Adam([*self.D_vae.parameters(), *self.D_lr.parameters()], lr=o.lr_d or o.lr, betas=(o.beta1, o.beta2))
        self.sched_G = make_scheduler(self.opt_G, cfg)
        self.sched_D = make_scheduler(self.opt_D, cfg)
        self.setup_gan_loss()
        self.training_info = {
            "nz": m.nz, "z_position": m.z_position, "encoder": m.encoder, "nef": m.nef or m.ngf,
            "lambda_kl": loss.lambda_kl, "lambda_z": loss.lambda_z,
        }

    def _discriminator(self) -> nn.Module:
        m = self.cfg.model
        return self.init_net(
            build_discriminator(m.discriminator, self.in_ch + self.out_ch, m.ndf, m.n_layers_d, m.discriminator_norm, m.spectral_norm)
        )

    # -- the training step ---------------------------------------------------------------------
    def _generator_step(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, float]]:
        """Update G and E with the discriminators frozen; return the two fakes and the losses."""
        loss = self.cfg.loss
        self.D_vae.requires_grad_(False)
        self.D_lr.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        mu, logvar = self.E(b)
        z_encoded = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        z_random = torch.randn(a.shape[0], self.cfg.model.nz, device=a.device)
        fake_encoded = self.G(a, z_encoded)
        fake_random = self.G(a, z_random)
        terms = {
            "g_gan_vae": self.gan(self.D_vae(torch.cat([a, fake_encoded], 1)), True, False),
            "g_gan_lr": self.gan(self.D_lr(torch.cat([a, fake_random], 1)), True, False),
            "g_l1": F.l1_loss(fake_encoded, b) * loss.lambda_l1,
            "kl": kl_to_prior(mu, logvar) * loss.lambda_kl,
        }
        regress = loss.lambda_z > 0
        sum(terms.values()).backward(retain_graph=regress)  # type: ignore[union-attr]
        out = {k: v.item() for k, v in terms.items()}
        if regress:
            mu_again, _ = self.E(fake_random)
            z_l1 = (mu_again - z_random).abs().mean() * loss.lambda_z
            z_l1.backward(inputs=list(self.G.parameters()))  # G learns to keep z recoverable; E is not moved
            out["z_l1"] = z_l1.item()
        self.opt_G.step()
        return fake_encoded.detach(), fake_random.detach(), out

    def train_step(self, inp: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """One BicycleGAN step on a paired batch: the first half encoded (cVAE-GAN), z drawn for cLR-GAN."""
        for net in (self.G, self.E, self.D_vae, self.D_lr):
            net.train()
        half = inp.shape[0] // 2
        a, b = inp[:half], target[:half]
        fake_encoded, fake_random, losses = self._generator_step(a, b)
        self.D_vae.requires_grad_(True)
        self.D_lr.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=True)
        loss_vae, vae = self.d_loss(self.D_vae, torch.cat([a, b], 1), torch.cat([a, fake_encoded], 1))
        loss_lr, lr = self.d_loss(self.D_lr, torch.cat([inp[half:], target[half:]], 1), torch.cat([a, fake_random], 1))
        (loss_vae + loss_lr).backward()
        self.opt_D.step()
        losses["d_vae"] = self.d_weight * (vae["real"] + vae["fake"])
        losses["d_lr"] = self.d_weight * (lr["real"] + lr["fake"])
        if self.lambda_gp is not None:
            losses["d_gp"] = vae["gp"] + lr["gp"]
        self.step_schedulers()
        return losses
