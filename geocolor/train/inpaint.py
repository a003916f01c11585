"""The trainable inpainting model (``model.model: inpaint``): the seed's dense-convolution GAN.

Each step draws hole masks (``geocolor.inpaint.masks``, kinds and sizes from ``cfg.inpaint``, seeded
by the run seed and the step, so a resumed run draws the same masks), blanks the holes, and asks the
generator for the whole image from the blanked image plus the mask channel. The output is composited
(network pixels inside the hole, the known image outside) and the generator is trained on

    lambda_rec * L_rec(hole) + lambda_adv * L_adv + lambda_TV * L_TV(composite)

with the discriminator (the seed's DCGAN classifier ``dcgan``, or a PatchGAN) judging the clean image
against the composite. ``lambda_adv: 0`` skips the discriminator entirely (the reconstruction-only
ablation). The trainer (``geocolor.train.inpaint_trainer``) evaluates hole PSNR/SSIM/L2 instead of
colour figures and exports a model file marked ``"task": "inpaint"``. Options (``model.options``):
``InpaintTrainingOptions``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import torch

from geocolor.color import lightness_to_gray
from geocolor.errors import ConfigError
from geocolor.inpaint.losses import RECONSTRUCTION, composite, total_variation
from geocolor.inpaint.masks import MaskSpec, make_masks
from geocolor.inpaint.model import TASK, encode_image, normalization
from geocolor.models.init import init_weights
from geocolor.models.registry import build_discriminator, build_generator
from geocolor.train.base import TrainableModel
from geocolor.train.config import TrainConfig
from geocolor.train.precision import to_layout

log = logging.getLogger(__name__)


class ImageEncoding:
    """What the trainer's batches become for inpainting: the clean image in [-1, 1] (gray or RGB)."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self.color_space = "gray" if channels == 1 else "rgb"

    def encode_input(self, lightness: torch.Tensor) -> torch.Tensor:
        return lightness_to_gray(lightness.clamp(0.0, 100.0)) * 2.0 - 1.0

    def encode_target(self, rgb: torch.Tensor, lab: torch.Tensor) -> torch.Tensor:
        if self.channels == 3:
            return rgb * 2.0 - 1.0
        return lightness_to_gray(lab[:, :1].clamp(0.0, 100.0)) * 2.0 - 1.0

    def normalization(self) -> dict[str, Any]:
        return normalization()


@dataclass
class InpaintTrainingOptions:
    """``model.options`` of inpaint: image channels, masks, loss weights."""

    channels: int = 1  # 1: gray (historical photos before colorization); 3: colour
    masks: dict[str, float] = field(default_factory=lambda: {"center": 1.0})  # kind -> weight, see geocolor.inpaint.masks
    center_size: int | None = None  # centre-box side in pixels; None: center_fraction of the tile
    center_fraction: float = 0.25
    box_min: int = 16
    box_max: int = 64
    rec_loss: str = "l2"  # l2 (the seed) or l1, over the hole only
    lambda_rec: float = 0.999
    lambda_adv: float = 0.001  # 0: no discriminator updates (reconstruction-only ablation)
    lambda_tv: float = 1e-6


def mask_spec(options: InpaintTrainingOptions) -> MaskSpec:
    o = options
    return MaskSpec(dict(o.masks), o.center_size, o.center_fraction, (o.box_min, o.box_max))


class Inpaint(TrainableModel):
    """Dense-block generator + discriminator for hole filling (see module docstring)."""

    Options = InpaintTrainingOptions
    warm_startable = True
    task = TASK

    @classmethod
    def validate(cls, cfg: TrainConfig, options: Any) -> None:
        o = options
        if o.channels not in (1, 3):
            raise ConfigError(f"model.options.channels must be 1 (gray) or 3 (colour), got {o.channels}")
        if o.rec_loss not in RECONSTRUCTION:
            raise ConfigError(f"model.options.rec_loss must be one of {', '.join(RECONSTRUCTION)}, got {o.rec_loss!r}")
        if min(o.lambda_rec, o.lambda_adv, o.lambda_tv) < 0:
            raise ConfigError("model.options.lambda_rec, lambda_adv and lambda_tv must be >= 0")
        mask_spec(o)  # unknown mask kinds and bad weights are refused here

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        super().__init__(cfg, device)
        m, o = cfg.model, self.options
        self.spec = mask_spec(o)
        self.encoding = ImageEncoding(o.channels)
        self.arch = {"generator": m.generator, "in_channels": o.channels + 1, "out_channels": o.channels,
                     "ngf": m.ngf, "norm": m.norm, "dropout": False}
        G = init_weights(build_generator(self.arch), m.init, m.init_gain)
        self.warm_start(G)
        self.G = self.add_network("G", G, init=False)
        self.D = self.add_network("D", build_discriminator(m.discriminator, o.channels, m.ndf, m.n_layers_d, m.discriminator_norm, m.spectral_norm))
        self.make_optimisers(list(self.G.parameters()), list(self.D.parameters()))
        self.rec = RECONSTRUCTION[o.rec_loss]
        self.steps_done = 0
        self.training_info = {"task": "inpaint", "masks": dict(o.masks), "rec_loss": o.rec_loss, "lambda_rec": o.lambda_rec,
                              "lambda_adv": o.lambda_adv, "lambda_tv": o.lambda_tv}

    @classmethod
    def make_trainer(cls, cfg: TrainConfig, **kwargs: Any) -> Any:
        """The trainer for this model (hole metrics, inpainting model files); imported lazily (no cycle)."""
        from geocolor.train.inpaint_trainer import InpaintTrainer

        return InpaintTrainer(cfg, **kwargs)

    def holes(self, n: int, h: int, w: int) -> torch.Tensor:
        """This step's masks (n, 1, H, W) float, seeded by the run seed and the step number."""
        masks = make_masks(self.spec, n, h, w, seed=self.cfg.seed * 1_000_003 + self.steps_done)
        return torch.from_numpy(masks[:, None]).to(self.device, torch.float32)

    def train_step(self, inp: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """One step on clean images ``target`` (N, C, H, W) in [-1, 1]; ``inp`` is not used (holes are drawn here)."""
        del inp
        o, amp = self.options, self.precision
        self.set_train()
        image = target
        hole = to_layout(self.holes(image.shape[0], image.shape[2], image.shape[3]), self.cfg)
        with amp.autocast():
            out = self.nets["G"].train(to_layout(encode_image((image + 1.0) * 0.5, hole), self.cfg))
        out = out.float()
        filled = composite(out, image, hole)
        losses: dict[str, float] = {}
        adversarial = o.lambda_adv > 0
        if adversarial:
            self.D.requires_grad_(True)
            self.opt_D.zero_grad(set_to_none=True)
            loss_d, logged = self.d_loss("D", image, filled)
            amp.backward(loss_d)
            amp.step(self.opt_D)
            losses.update({"d_real": logged["real"], "d_fake": logged["fake"]})
            self.D.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        rec = self.rec(out, image, hole)
        tv = total_variation(filled)
        total = o.lambda_rec * rec + o.lambda_tv * tv
        if adversarial:
            with amp.autocast():
                pred = self.nets["D"].frozen(filled)
            g_gan = self.gan(pred.float(), True, False)
            total = total + o.lambda_adv * g_gan
            losses["g_gan"] = g_gan.item()
        amp.backward(total)
        amp.step(self.opt_G)
        amp.update()
        self.step_schedulers(None if adversarial else ("sched_G",))  # the discriminator's schedule waits while it does not train
        self.steps_done += 1
        return {**losses, "g_rec": rec.item(), "g_tv": tv.item(), "g_total": total.item()}

    def extra_state(self) -> dict[str, Any]:
        return {"steps_done": self.steps_done}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.steps_done = int(state["steps_done"])
