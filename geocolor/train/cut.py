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
Options (``model.options``): ``CUTOptions``. Mixed precision, channels_last and DDP come from the base
(``geocolor.train.base``): the translation and both projection-head passes run through the DDP views,
and PatchNCE's re-encoding through the plain generator's encoder adds to the same gradients, which
DDP averages once per step (two ranks end with identical weights: ``tests/train/test_ddp.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from geocolor.errors import ConfigError
from geocolor.models.encoding import encoding_for
from geocolor.models.patchnce import PatchProjector, encoder_features, patch_nce_loss
from geocolor.models.registry import build_discriminator, build_generator
from geocolor.train.base import TrainableModel
from geocolor.train.config import TrainConfig
from geocolor.train.pix2pix import generator_arch

# the largest nce_layers index per generator (see geocolor.models.patchnce.encoder_depth)
ENCODER_DEPTH = {"resnet_6blocks": 15, "resnet_9blocks": 18, "unet_128": 7, "unet_256": 8}


def default_nce_layers(generator: str) -> list[int]:
    """CUT's ``0, 4, 8, 12, 16`` for ResNets (the last clipped to the encoder); input + 4 down blocks for U-Nets."""
    depth = ENCODER_DEPTH[generator]
    return [0, 4, 8, 12, min(16, depth)] if generator.startswith("resnet") else [0, 1, 2, 3, 4]


@dataclass
class CUTOptions:
    """``model.options`` of cut and fastcut (``None``: the model's own default, see the module docstring)."""

    # generator layers whose features PatchNCE compares (resnet: indices into its layer list up to the
    # last residual block, CUT's "0,4,8,12,16"; unet: 0 the input, k the k-th down-sampling block)
    nce_layers: list[int] | None = None
    nce_mlp_dim: int = 256  # width of the 2-layer MLP projection head per NCE layer
    flip_equivariance: bool | None = None  # random horizontal flip equivariance; None: fastcut only
    lambda_nce: float | None = None  # PatchNCE weight; None: 1 for cut, 10 for fastcut
    nce_idt: bool | None = None  # identity PatchNCE on colour images; None: cut yes, fastcut no
    nce_t: float = 0.07  # PatchNCE temperature
    num_patches: int = 256  # patches sampled per image and layer


def nce_layers(generator: str, options: CUTOptions) -> list[int]:
    return list(options.nce_layers) if options.nce_layers is not None else default_nce_layers(generator)


def cut_settings(cfg: TrainConfig, options: CUTOptions) -> dict[str, Any]:
    """The effective PatchNCE settings: the options, with ``None`` resolved by the model (cut / fastcut)."""
    fast = cfg.model.model == "fastcut"
    o = options
    return {
        "lambda_nce": o.lambda_nce if o.lambda_nce is not None else (10.0 if fast else 1.0),
        "nce_idt": o.nce_idt if o.nce_idt is not None else not fast,
        "flip_equivariance": o.flip_equivariance if o.flip_equivariance is not None else fast,
        "nce_layers": nce_layers(cfg.model.generator, o),
        "num_patches": o.num_patches,
        "nce_t": o.nce_t,
    }


def validate_cut(cfg: TrainConfig, options: CUTOptions) -> None:
    """Refuse a cut / fastcut config that cannot train, naming the setting to change."""
    m, o = cfg.model, options
    if m.color_space != "rgb":
        raise ConfigError(
            f"{m.model} compares the generator's input and output in its own encoder, so both need the same "
            "channels, but lab maps L* (1 channel) to a*b* (2 channels): set model.color_space: rgb"
        )
    if m.generator not in ENCODER_DEPTH:
        raise ConfigError(f"{m.model} supports the generators {', '.join(ENCODER_DEPTH)}, not {m.generator!r}")
    layers, depth = nce_layers(m.generator, o), ENCODER_DEPTH[m.generator]
    if not layers or len(set(layers)) != len(layers) or not all(0 <= i <= depth for i in layers):
        what = "0 the input, k the k-th down-sampling block"
        if m.generator.startswith("resnet"):
            what = "indices of the generator's layers up to the last residual block"
        raise ConfigError(f"model.options.nce_layers {layers} must be distinct numbers from 0 to {depth} for {m.generator} ({what})")
    if o.num_patches < 2 or o.nce_t <= 0 or (o.lambda_nce or 0.0) < 0 or o.nce_mlp_dim < 1:
        raise ConfigError("model.options.num_patches must be >= 2, nce_t > 0, lambda_nce >= 0 and nce_mlp_dim >= 1")


class CUT(TrainableModel):
    """Generator, PatchNCE projection head and discriminator; ``cut`` or ``fastcut`` by ``model.model``."""

    Options = CUTOptions
    unpaired = True  # the trainer draws inputs and targets from different chips
    networks = ("G", "F", "D")

    @classmethod
    def validate(cls, cfg: TrainConfig, options: Any) -> None:
        validate_cut(cfg, options)

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        super().__init__(cfg, device)
        m = cfg.model
        self.settings = cut_settings(cfg, self.options)
        self.layers = self.settings["nce_layers"]
        self.encoding = encoding_for(m.color_space)
        self.in_ch, self.out_ch = self.encoding.in_channels, self.encoding.out_channels
        self.arch = generator_arch(m, self.in_ch, self.out_ch)
        self.G = self.add_network("G", build_generator(self.arch))
        self.F = self.add_network("F", PatchProjector(self._feature_channels(), self.options.nce_mlp_dim))
        self.D = self.add_network("D", build_discriminator(m.discriminator, self.out_ch, m.ndf, m.n_layers_d, m.discriminator_norm, m.spectral_norm))
        self.make_optimisers([*self.G.parameters(), *self.F.parameters()], list(self.D.parameters()))
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
        head = self.nets["F"].train  # the DDP view, so the projection heads' gradients are averaged too
        keys, ids = head(key_feats, s["num_patches"])
        queries, _ = head(query_feats, s["num_patches"], ids)
        return sum(patch_nce_loss(q, k, s["nce_t"]) for q, k in zip(queries, keys)) / len(self.layers)  # type: ignore[return-value]

    def _discriminator_step(self, real_b: torch.Tensor, fake_b: torch.Tensor) -> dict[str, float]:
        self.D.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=True)
        loss_d, logged = self.d_loss("D", real_b, fake_b)
        self.precision.backward(loss_d)
        self.precision.step(self.opt_D)
        return {f"d_{k}": v for k, v in logged.items()}

    def train_step(self, inp: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """One CUT step on a gray batch ``inp`` and an unrelated colour batch ``target``."""
        s, amp = self.settings, self.precision
        self.set_train()
        real = torch.cat([inp, target]) if s["nce_idt"] else inp
        flipped = bool(s["flip_equivariance"]) and bool(torch.rand(()) < 0.5)
        with amp.autocast():
            fake = self.nets["G"].train(torch.flip(real, [3]) if flipped else real)
        fake_b = fake[: inp.shape[0]]
        losses = self._discriminator_step(target, fake_b)
        self.D.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        with amp.autocast():
            g_gan = self.gan(self.nets["D"].frozen(fake_b).float(), True, False)
            g_nce = self.nce(inp, fake_b, flipped).float()
            if s["nce_idt"]:
                g_nce_idt = self.nce(target, fake[inp.shape[0] :], flipped).float()
        losses.update({"g_gan": g_gan.item(), "g_nce": g_nce.item()})
        if s["nce_idt"]:
            losses["g_nce_idt"] = g_nce_idt.item()
            g_nce = 0.5 * (g_nce + g_nce_idt)
        amp.backward(g_gan + s["lambda_nce"] * g_nce)
        amp.step(self.opt_G)
        amp.update()
        self.step_schedulers()
        return losses
