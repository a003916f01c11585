"""The trainable inpainting model (``model.model: inpaint``): the seed's dense-convolution GAN.

Each step draws hole masks (``geocolor.inpaint.masks``, kinds and sizes from ``cfg.inpaint``, seeded
by the run seed and the step, so a resumed run draws the same masks), blanks the holes, and asks the
generator for the whole image from the blanked image plus the mask channel. The output is composited
(network pixels inside the hole, the known image outside) and the generator is trained on

    lambda_rec * L_rec(hole) + lambda_adv * L_adv + lambda_TV * L_TV(composite)

with the discriminator (the seed's DCGAN classifier ``dcgan``, or a PatchGAN) judging the clean image
against the composite. ``lambda_adv: 0`` skips the discriminator entirely (the reconstruction-only
ablation). The trainer (``geocolor.train.inpaint_trainer``) evaluates hole PSNR/SSIM/L2 instead of
colour figures and exports a model file marked ``"task": "inpaint"``.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from geocolor.color import lightness_to_gray
from geocolor.errors import ConfigError
from geocolor.inpaint.losses import RECONSTRUCTION, composite, total_variation
from geocolor.inpaint.masks import MaskSpec, make_masks
from geocolor.inpaint.model import TASK, encode_image, normalization
from geocolor.models.init import init_weights
from geocolor.models.losses import D_LOSS_WEIGHT, GAN_LOSSES
from geocolor.models.registry import build_discriminator, build_generator
from geocolor.train.config import TrainConfig
from geocolor.train.pix2pix import Pix2Pix
from geocolor.train.precision import Precision, prepare, to_layout
from geocolor.train.schedules import make_scheduler, steps_per_iteration
from geocolor.train.warmstart import warm_start

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


def mask_spec(cfg: TrainConfig) -> MaskSpec:
    ic = cfg.inpaint
    return MaskSpec(dict(ic.masks), ic.center_size, ic.center_fraction, (ic.box_min, ic.box_max))


class Inpaint(Pix2Pix):
    """Dense-block generator + discriminator for hole filling (see module docstring).

    Shares with ``Pix2Pix`` only its state (networks, optimisers, schedulers) and the plateau hook,
    which here steps on the held-out hole L2; ``__init__`` and the training step are its own.
    """

    performance_options = True  # AMP / channels_last / compile / DDP through geocolor.train.precision

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        m, ic = cfg.model, cfg.inpaint
        if ic.channels not in (1, 3):
            raise ConfigError(f"inpaint.channels must be 1 (gray) or 3 (colour), got {ic.channels}")
        if ic.rec_loss not in RECONSTRUCTION:
            raise ConfigError(f"inpaint.rec_loss must be one of {', '.join(RECONSTRUCTION)}, got {ic.rec_loss!r}")
        if min(ic.lambda_rec, ic.lambda_adv, ic.lambda_tv) < 0:
            raise ConfigError("inpaint.lambda_rec, lambda_adv and lambda_tv must be >= 0")
        if cfg.loss.gan_mode not in GAN_LOSSES:
            raise ConfigError(f"unknown gan_mode {cfg.loss.gan_mode!r}; choose one of {', '.join(GAN_LOSSES)}")
        self.cfg, self.device = cfg, device
        self.spec = mask_spec(cfg)
        self.encoding = ImageEncoding(ic.channels)
        self.arch = {"generator": m.generator, "in_channels": ic.channels + 1, "out_channels": ic.channels,
                     "ngf": m.ngf, "norm": m.norm, "dropout": False}
        self.precision = Precision.for_config(cfg, device)
        G = init_weights(build_generator(self.arch), m.init, m.init_gain)
        if m.init_from:
            log.info("warm start: %s", warm_start(G, m.init_from, task=TASK))
        D = init_weights(
            build_discriminator(m.discriminator, ic.channels, m.ndf, m.n_layers_d, m.discriminator_norm, m.spectral_norm),
            m.init, m.init_gain,
        )
        self.nets = {"G": prepare(G.to(device), cfg, device), "D": prepare(D.to(device), cfg, device)}
        self.G, self.D = self.nets["G"].module, self.nets["D"].module
        o = cfg.optim
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=o.lr, betas=(o.beta1, o.beta2))
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=o.lr_d or o.lr, betas=(o.beta1, o.beta2))
        self.sched_G, self.sched_D = make_scheduler(self.opt_G, cfg), make_scheduler(self.opt_D, cfg)
        self.gan, self.d_weight = GAN_LOSSES[cfg.loss.gan_mode], D_LOSS_WEIGHT[cfg.loss.gan_mode]
        self.rec = RECONSTRUCTION[ic.rec_loss]
        self.steps_done = 0
        self.training_info = {"task": "inpaint", "masks": dict(ic.masks), "rec_loss": ic.rec_loss, "lambda_rec": ic.lambda_rec,
                              "lambda_adv": ic.lambda_adv, "lambda_tv": ic.lambda_tv}

    @staticmethod
    def make_trainer(cfg: TrainConfig, **kwargs: Any) -> Any:
        """The trainer for this model (hole metrics, inpainting model files); imported lazily (no cycle)."""
        from geocolor.train.inpaint_trainer import InpaintTrainer

        return InpaintTrainer(cfg, **kwargs)

    def holes(self, n: int, h: int, w: int) -> torch.Tensor:
        """This step's masks (n, 1, H, W) float, seeded by the run seed and the step number."""
        masks = make_masks(self.spec, n, h, w, seed=self.cfg.seed * 1_000_003 + self.steps_done)
        return torch.from_numpy(masks[:, None]).to(self.device, torch.float32)

    def _discriminator_step(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, float]:
        amp = self.precision
        self.D.requires_grad_(True)
        self.opt_D.zero_grad(set_to_none=True)
        with amp.autocast():
            pred_fake, pred_real = self.nets["D"].train(fake.detach()), self.nets["D"].train(real)
        loss_fake = self.gan(pred_fake.float(), False, True)
        loss_real = self.gan(pred_real.float(), True, True)
        amp.backward(self.d_weight * (loss_fake + loss_real))
        amp.step(self.opt_D)
        return {"d_real": loss_real.item(), "d_fake": loss_fake.item()}

    def train_step(self, inp: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """One step on clean images ``target`` (N, C, H, W) in [-1, 1]; ``inp`` is not used (holes are drawn here)."""
        del inp
        ic, amp = self.cfg.inpaint, self.precision
        self.G.train()
        self.D.train()
        image = target
        hole = to_layout(self.holes(image.shape[0], image.shape[2], image.shape[3]), self.cfg)
        with amp.autocast():
            out = self.nets["G"].train(to_layout(encode_image((image + 1.0) * 0.5, hole), self.cfg))
        out = out.float()
        filled = composite(out, image, hole)
        losses: dict[str, float] = {}
        adversarial = ic.lambda_adv > 0
        if adversarial:
            losses.update(self._discriminator_step(image, filled))
            self.D.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        rec = self.rec(out, image, hole)
        tv = total_variation(filled)
        total = ic.lambda_rec * rec + ic.lambda_tv * tv
        if adversarial:
            with amp.autocast():
                pred = self.nets["D"].frozen(filled)
            g_gan = self.gan(pred.float(), True, False)
            total = total + ic.lambda_adv * g_gan
            losses["g_gan"] = g_gan.item()
        amp.backward(total)
        amp.step(self.opt_G)
        amp.update()
        for sched in (self.sched_G, self.sched_D) if adversarial else (self.sched_G,):
            if steps_per_iteration(sched):
                sched.step()
        self.steps_done += 1
        return {**losses, "g_rec": rec.item(), "g_tv": tv.item(), "g_total": total.item()}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "steps_done": self.steps_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.steps_done = int(state["steps_done"])
