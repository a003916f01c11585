"""CUT and FastCUT: unpaired gray -> colour translation with PatchNCE (Park et al. 2020).

One generator ``G`` (exported and used by mosaic like a pix2pix generator), one unconditional
discriminator ``D`` on colour images, and a projection head ``F`` (a 2-layer MLP per NCE layer, see
``geocolor.models.patchnce``). No second generator, no cycle: each output patch must be matched to
the input patch at the same place, against the other ``num_patches - 1`` patches of that input,
in the features of ``G``'s own encoder at ``nce_layers``.

- GAN: ``G`` fools ``D`` (any of ``GAN_LOSSES``; CUT uses lsgan).
- PatchNCE: ``lambda_nce * NCE(a, G(a))``, averaged over the layers, temperature ``nce_t``.
- identity NCE (``nce_idt``): ``G`` also translates colour images b, and ``NCE(b, G(b))`` joins the
  first term (the two are averaged), which keeps ``G`` from changing what is already colour.
- flip equivariance: half of the steps translate the horizontally flipped input; the output's
  features are flipped back before they are compared with the input's.

``cut``: lambda_nce 1, identity NCE, no flips; ``fastcut``: lambda_nce 10, no identity NCE, flip
equivariance (each default can be overridden in the config). PatchNCE re-encodes the output with
``G``'s encoder, so input and output must have the same channels: CUT needs ``color_space: rgb``
(gray as 3 channels -> RGB); in ``lab`` (L* -> a*b*) the config is refused.

The step is CUT's: one forward of ``G`` (on the gray batch, with the colour batch appended when
identity NCE is on), the discriminator update on the detached fakes (halved, as in
``D_LOSS_WEIGHT``; WGAN-GP adds its penalty), then one update of ``G`` and ``F`` (one Adam) with ``D``
frozen. Batches are unpaired (``unpaired = True``): the trainer draws gray and colour from
different chips. Patch positions and flips come from torch's RNG, which checkpoints keep.
"""

from __future__ import annotations

from typing import Any

import torch

from geocolor.errors import ConfigError
from geocolor.models.encoding import encoding_for
from geocolor.models.patchnce import PatchProjector, encoder_features, patch_nce_loss
from geocolor.models.registry import build_discriminator, build_generator
from geocolor.train.config import ModelConfig, TrainConfig
from geocolor.train.gan_model import GanModel
from geocolor.train.pix2pix import generator_arch
from geocolor.train.schedules import make_scheduler

# the largest nce_layers index per generator (see geocolor.models.patchnce.encoder_depth)
ENCODER_DEPTH = {"resnet_6blocks": 15, "resnet_9blocks": 18, "unet_128": 7, "unet_256": 8}


def default_nce_layers(generator: str) -> list[int]:
    """CUT's ``0, 4, 8, 12, 16`` for ResNets (the last clipped to the encoder); input + 4 down blocks for U-Nets."""
    depth = ENCODER_DEPTH[generator]
    return [0, 4, 8, 12, min(16, depth)] if generator.startswith("resnet") else [0, 1, 2, 3, 4]


def nce_layers(m: ModelConfig) -> list[int]:
    return list(m.nce_layers) if m.nce_layers is not None else default_nce_layers(m.generator)


def cut_settings(cfg: TrainConfig) -> dict[str, Any]:
    """The effective PatchNCE settings: the config's, with ``None`` resolved by the model (cut / fastcut)."""
    fast = cfg.model.model == "fastcut"
    loss, m = cfg.loss, cfg.model
    return {
        "lambda_nce": loss.lambda_nce if loss.lambda_nce is not None else (10.0 if fast else 1.0),
        "nce_idt": loss.nce_idt if loss.nce_idt is not None else not fast,
        "flip_equivariance": m.flip_equivariance if m.flip_equivariance is not None else fast,
        "nce_layers": nce_layers(m),
        "num_patches": loss.num_patches,
        "nce_t": loss.nce_t,
    }


def validate_cut(cfg: TrainConfig) -> None:
    """Refuse a cut / fastcut config that cannot train, naming the setting to change."""
    m, loss = cfg.model, cfg.loss
    if m.color_space != "rgb":
        raise ConfigError(
            f"{m.model} compares the generator's input and output in its own encoder, so both need the same "
            "channels, but lab maps L* (1 channel) to a*b* (2 channels): set model.color_space: rgb"
        )
    if m.generator not in ENCODER_DEPTH:
        raise ConfigError(f"{m.model} supports the generators {', '.join(ENCODER_DEPTH)}, not {m.generator!r}")
    layers, depth = nce_layers(m), ENCODER_DEPTH[m.generator]
    if not layers or len(set(layers)) != len(layers) or not all(0 <= i <= depth for i in layers):
        what = "0 the input, k the k-th down-sampling block"
        if m.generator.startswith("resnet"):
            what = "indices of the generator's layers up to the last residual block"
        raise ConfigError(f"model.nce_layers {layers} must be distinct numbers from 0 to {depth} for {m.generator} ({what})")
    if loss.num_patches < 2 or loss.nce_t <= 0 or (loss.lambda_nce or 0.0) < 0 or m.nce_mlp_dim < 1:
        raise ConfigError("loss.num_patches must be >= 2, loss.nce_t > 0, loss.lambda_nce >= 0 and model.nce_mlp_dim >= 1")


class CUT(GanModel):
    """Generator, PatchNCE projection head and discriminator; ``cut`` or ``fastcut`` by ``model.model``."""

    unpaired = True  # the trainer draws inputs and targets from different chips
    NETWORKS = ("G", "F", "D")

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        validate_cut(cfg)
        m, o = cfg.model, cfg.optim
        self.cfg = cfg
        self.device = device
        self.settings = cut_settings(cfg)
        self.layers = self.settings["nce_layers"]
        self.encoding = encoding_for(m.color_space)
        self.in_ch, self.out_ch = self.encoding.in_channels, self.encoding.out_channels
        self.arch = generator_arch(m, self.in_ch, self.out_ch)
        self.G = self.init_net(build_generator(self.arch))
        self.F = self.init_net(PatchProjector(self._feature_channels(), m.nce_mlp_dim))
        self.D = self.init_net(
            build_discriminator(m.discriminator, self.out_ch, m.ndf, m.n_layers_d, m.discriminator_norm, m.spectral_norm)
        )
        self.opt_G = torch.optim.Adam([*self.G.parameters(), *self.F.parameters()], lr=o.lr, betas=(o.beta1, o.beta2))
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=o.lr_d or o.lr, betas=(o.beta1, o.beta2))
        self.sched_G = make_scheduler(self.opt_G, cfg)
        self.sched_D = make_scheduler(self.opt_D, cfg)
        self.setup_gan_loss()
        self.training_info = dict(self.settings)

    def _feature_channels(self) -> list[int]:
        """Channels of the encoder's features at the NCE layers (one dry run, no RNG, no statistics)."""
        size = 256 if self.cfg.model.generator.startswith("unet") else 32
        self.G.eval()
        with torch.no_grad():
            feats = encoder_features(self.G, torch.zeros(1, self.in_ch, size, size, device=self.device), self.layers)
        self.G.train()
        return [f.shape[1] for f in feats]

    # -- losses --------------------------------------------------------------------------------
    def nce(self, source: torch.Tensor, output: torch.Tensor, flipped: bool) -> torch.Tensor:
        """PatchNCE between ``source`` and ``G``'s ``output`` for it, averaged over the NCE layers."""
        s = self.settings
        query_feats = encoder_features(self.G, output, self.layers)
        if flipped:  # the output came from the flipped source: flip its features back into place
            query_feats = [torch.flip(f, [3]) for f in query_feats]
        with torch.no_grad():
            key_feats = encoder_features(self.G, source, self.layers)
        keys, ids = self.F(key_feats, s["num_patches"])
        queries, _ = self.F(query_feats, s["num_patches"], ids)
        return sum(patch_nce_loss(q, k, s["nce_t"]) for q, k in zip(queries, keys)) / len(self.layers)  # type: ignore[return-value]

    def _discriminator_step(self, real_b: torch.Tensor, fake_b: torch.Tensor) -> dict[str, float]:
        self.D.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=True)
        loss_d, logged = self.d_loss(self.D, real_b, fake_b)
        loss_d.backward()
        self.opt_D.step()
        return {f"d_{k}": v for k, v in logged.items()}

    def train_step(self, inp: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """One CUT step on a gray batch ``inp`` and an unrelated colour batch ``target``."""
        s = self.settings
        for net in (self.G, self.F, self.D):
            net.train()
        real = torch.cat([inp, target]) if s["nce_idt"] else inp
        flipped = bool(s["flip_equivariance"]) and bool(torch.rand(()) < 0.5)
        fake = self.G(torch.flip(real, [3]) if flipped else real)
        fake_b = fake[: inp.shape[0]]
        losses = self._discriminator_step(target, fake_b)
        self.D.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        g_gan = self.gan(self.D(fake_b), True, False)
        g_nce = self.nce(inp, fake_b, flipped)
        losses.update({"g_gan": g_gan.item(), "g_nce": g_nce.item()})
        if s["nce_idt"]:
            g_nce_idt = self.nce(target, fake[inp.shape[0] :], flipped)
            losses["g_nce_idt"] = g_nce_idt.item()
            g_nce = 0.5 * (g_nce + g_nce_idt)
        (g_gan + s["lambda_nce"] * g_nce).backward()
        self.opt_G.step()
        self.step_schedulers()
        return losses
