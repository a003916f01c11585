"""stylecolor: one conditional GAN that colorizes and transfers a colour style at once.

The generator (``geocolor.models.style.StyleUnetGenerator``) sees L* and a style code and predicts
a*b*; the conditional PatchGAN sees L*, the style code (as constant channels) and the real or fake
a*b*. Losses: GAN + ``lambda_l1`` * L1 to the target (as pix2pix) + ``lambda_style`` * L1 between the
style code of the output and that of the target (colour statistics, so the palette follows the code).

What teaches the generator to *use* the code (multi-task, as in the seed study):

- palette jitter: with probability ``style_jitter_prob`` a sample's target a*b* get a random affine
  transform (hue turn, chroma scale, tint shift), like another film stock or era; the reference gets
  the same transform, so only the code tells the generator which palette is wanted;
- reference choice: with probability ``style_other_prob`` the code comes from another crop of the
  batch (another place, often another source / year) under the sample's palette, else from the
  target itself (the exact palette, as when a user's reference is the already-colorized neighbour);
- learned named styles: with probability ``style_named_prob`` a crop from a source with a ``style``
  name (and no palette jitter) is conditioned on that name's *learned* code instead: a table of codes,
  one per name, that starts at the name's colour statistics and is trained with the generator. The
  model file's named styles are then the learned codes (``named``) beside their statistics
  (``named_stats``, the palette ``mosaic --style NAME`` matches to).

The training step is pix2pix's (``Pix2Pix`` provides the discriminator step, optimisers and
checkpoint state). Options (``model.options``): ``StyleColorOptions``. The model file's metadata gets a ``style`` section: ``conditioned: true``, the
code definition, the default code (mean code of the training colours, used when no style is given)
and the named styles (``data.sources[].style``: the pooled code of the sources of that name).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from geocolor.errors import ConfigError
from geocolor.models.style import CODE_NAME, STYLE_DIM, code_map, lab_pixels_code, style_code
from geocolor.train.config import ModelConfig, TrainConfig
from geocolor.train.pix2pix import Pix2Pix, generator_arch

MAX_PIXELS_PER_SOURCE = 65536  # decimated pixels per training region for the named-style codes


@dataclass
class StyleColorOptions:
    """``model.options`` of stylecolor (see the module docstring)."""

    style_other_prob: float = 0.5  # chance the style reference is another crop, not the target itself
    style_jitter_prob: float = 0.5  # chance a sample gets a random palette (target and reference alike)
    style_named_prob: float = 0.0  # chance a sample of a named source is conditioned on its name's learned code
    lambda_style: float = 10.0  # L1 between the output's style code and the target's


class StyleColor(Pix2Pix):
    """Style-conditioned pix2pix (see module docstring)."""

    Options = StyleColorOptions

    @classmethod
    def validate(cls, cfg: TrainConfig, options: Any) -> None:
        if cfg.model.color_space != "lab":
            raise ConfigError("stylecolor works in Lab (the style code is a*b* statistics); set model.color_space: lab")
        o = options
        if not all(0 <= p <= 1 for p in (o.style_other_prob, o.style_jitter_prob, o.style_named_prob)) or o.lambda_style < 0:
            raise ConfigError("model.options.style_other_prob, style_jitter_prob and style_named_prob must be in [0, 1], "
                              "model.options.lambda_style >= 0")
        if o.style_named_prob > 0 and not any(s.style for s in cfg.data.sources):
            raise ConfigError("model.options.style_named_prob > 0 needs sources with a style name (data.sources[].style)")

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        self.style_names = sorted({s.style for s in cfg.data.sources if s.style})
        named_prob = self.parse_options(cfg).style_named_prob
        # learned named codes (one row per name), trained by the generator's optimiser; set from statistics in attach_data
        learn = named_prob > 0
        self.named_table = torch.nn.Parameter(torch.zeros(len(self.style_names), STYLE_DIM, device=device)) if learn else None
        super().__init__(cfg, device)
        o = self.options
        self.training_info = {
            "lambda_style": o.lambda_style,
            "style_other_prob": o.style_other_prob,
            "style_jitter_prob": o.style_jitter_prob,
            "style_named_prob": o.style_named_prob,
        }
        self._named: dict[str, list[float]] | None = None
        self._named_tones: dict[str, list[float]] = {}
        self._data: Any = None
        self._source_style: dict[str, str] = {s.path.rsplit("/", 1)[-1]: s.style for s in cfg.data.sources if s.style}

    def _generator_parameters(self) -> list[torch.nn.Parameter]:
        return list(self.G.parameters()) + ([self.named_table] if self.named_table is not None else [])

    def attach_data(self, data: Any) -> None:
        """Know the training data: its named styles' statistics (and the start of the learned codes)."""
        self._data = data
        self._named, self._named_tones = named_styles(self.cfg, data)
        if self.named_table is not None:
            mean = np.mean(list(self._named.values()), axis=0) if self._named else np.zeros(STYLE_DIM)
            rows = [self._named.get(name, mean) for name in self.style_names]
            with torch.no_grad():
                self.named_table.copy_(torch.tensor(np.asarray(rows), dtype=torch.float32))

    def extra_state(self) -> dict[str, Any]:
        return {"named_table": self.named_table.detach().clone()} if self.named_table is not None else {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if self.named_table is not None:
            with torch.no_grad():
                self.named_table.copy_(state["named_table"])

    def _named_index(self, n: int) -> torch.Tensor:
        """Index into ``named_table`` of each crop of the last batch (-1: its source has no style name)."""
        sources = getattr(self._data, "last_sources", None) or []
        if self.named_table is None or len(sources) != n:
            return torch.full((n,), -1, dtype=torch.long, device=self.device)
        index = {name: i for i, name in enumerate(self.style_names)}
        rows = [index.get(self._source_style.get(src.rsplit("@", 1)[0], ""), -1) for src in sources]
        return torch.tensor(rows, dtype=torch.long, device=self.device)

    def _generator_arch(self, m: ModelConfig) -> dict[str, Any]:
        return {**generator_arch(m, self.in_ch, self.out_ch), "style_dim": STYLE_DIM}

    def _d_in_channels(self) -> int:
        return self.in_ch + STYLE_DIM + self.out_ch

    # -- references ------------------------------------------------------------------------------
    def _palettes(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Random affine a*b* transforms (N, 2, 2) and shifts (N, 2) in network units; identity where not jittered."""
        dev = self.device
        angle = (torch.rand(n, device=dev) * 2 - 1) * 0.6
        scale = torch.exp(torch.rand(n, device=dev) * 0.9 - 0.5)
        shift = torch.randn(n, 2, device=dev) * (8.0 / self.encoding.ab_scale)
        keep = torch.rand(n, device=dev) >= self.options.style_jitter_prob
        angle, scale = angle.masked_fill(keep, 0.0), scale.masked_fill(keep, 1.0)
        shift = shift.masked_fill(keep[:, None], 0.0)
        cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
        mats = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)
        return mats, shift

    @staticmethod
    def _transform(ab: torch.Tensor, mats: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        out = torch.einsum("nij,njhw->nihw", mats, ab) + shift[:, :, None, None]
        return out.clamp(-1.0, 1.0)

    def references(self, lightness: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(jittered target, its style code, the conditioning code) for a batch; see module docstring.

        The conditioning code is differentiable in the learned named codes (when any are used)."""
        enc = self.encoding
        n = target.shape[0]
        mats, shift = self._palettes(n)
        named = None
        if self.named_table is not None:
            idx = self._named_index(n)
            named = (idx >= 0) & (torch.rand(n, device=self.device) < self.options.style_named_prob)
            eye = torch.eye(2, device=self.device, dtype=mats.dtype).expand(n, 2, 2)
            mats = torch.where(named[:, None, None], eye, mats)  # a named sample keeps its source's own palette
            shift = shift.masked_fill(named[:, None], 0.0)
        styled = self._transform(target, mats, shift)
        own = style_code(lightness, styled * enc.ab_scale)
        other_target = target.roll(1, 0)
        other = style_code(lightness.roll(1, 0), self._transform(other_target, mats, shift) * enc.ab_scale)
        use_other = (torch.rand(n, 1, device=self.device) < self.options.style_other_prob).to(own.dtype)
        code = use_other * other + (1 - use_other) * own
        if named is not None and self.named_table is not None and bool(named.any()):
            learned = self.named_table[idx.clamp(min=0)]
            code = torch.where(named[:, None], learned, code)
        return styled, own, code

    # -- the training step -----------------------------------------------------------------------
    def train_step(self, inp: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        amp = self.precision
        self.set_train()
        enc = self.encoding
        lightness = inp * enc.l_scale + enc.l_offset
        with torch.no_grad():
            self._track_default_style(style_code(lightness, target * enc.ab_scale).mean(0))
        with torch.set_grad_enabled(self.named_table is not None):  # only learned named codes need a gradient here
            target, target_code, code = self.references(lightness, target)
        target, target_code = target.detach(), target_code.detach()
        with amp.autocast():
            fake = self.nets["G"].train(inp, code)
        fake = fake.float()
        cond = torch.cat([inp, code_map(code, *inp.shape[-2:])], 1)
        lambda_gan = self.cfg.loss.lambda_gan
        # D does not train the named codes; with lambda_gan 0 there is no adversary at all (L1 + style)
        losses = self._discriminator_step(cond.detach(), fake, target) if lambda_gan > 0 else {}
        self.D.requires_grad_(False)
        self.opt_G.zero_grad(set_to_none=True)
        if lambda_gan > 0:
            with amp.autocast():
                pred = self.nets["D"].frozen(torch.cat([cond, fake], 1))
            loss_g_gan = self.gan(pred.float(), True, False) * lambda_gan
        else:
            loss_g_gan = torch.zeros((), device=fake.device)
        loss_g_l1 = F.l1_loss(fake, target) * self.cfg.loss.lambda_l1
        loss_g_style = F.l1_loss(style_code(lightness, fake * enc.ab_scale), target_code) * self.options.lambda_style
        loss_g_chroma = self.chroma_term(fake, target)
        amp.backward(loss_g_gan + loss_g_l1 + loss_g_style + loss_g_chroma)
        self._average_named_codes()
        amp.step(self.opt_G)
        amp.update()
        self.step_schedulers(None if lambda_gan > 0 else ("sched_G",))
        return {**losses, "g_gan": loss_g_gan.item(), "g_l1": loss_g_l1.item(), "g_style": loss_g_style.item(),
                **self._chroma_figure(loss_g_chroma)}

    def _average_named_codes(self) -> None:
        """Under DDP, average the learned codes' gradient over the ranks (the table is outside the wrapped generator)."""
        from geocolor.train import distributed

        rank = distributed.current()
        if self.named_table is None or not rank.distributed:
            return
        import torch.distributed as dist

        if self.named_table.grad is None:  # no named crop on this rank this step: every rank still takes part
            self.named_table.grad = torch.zeros_like(self.named_table)

        dist.all_reduce(self.named_table.grad)
        self.named_table.grad /= rank.world

    def _track_default_style(self, code: torch.Tensor) -> None:
        """Running mean (EMA 0.99) of the natural training colours' code: the style used when none is given."""
        buf = self._default_style()
        if not bool(buf.abs().sum()):
            buf.copy_(code)
        else:
            buf.mul_(0.99).add_(code, alpha=0.01)

    def _default_style(self) -> torch.Tensor:
        buf = self.G.default_style
        assert isinstance(buf, torch.Tensor)
        return buf

    # -- model file metadata ---------------------------------------------------------------------
    def extra_metadata(self, data: Any) -> dict[str, Any]:
        """The model file's ``style`` section (named styles computed once, from the training regions)."""
        if self._named is None:
            self.attach_data(data)
        assert self._named is not None
        section: dict[str, Any] = {
            "conditioned": True,
            "code": CODE_NAME,
            "dim": STYLE_DIM,
            "default": [float(v) for v in self._default_style().cpu()],
            "named": self._named,
            "named_lightness": self._named_tones,
        }
        if self.named_table is not None:  # the conditioning codes are the learned ones; the statistics stay the palettes
            learned = self.named_table.detach().cpu()
            section["named"] = {name: [float(v) for v in learned[i]] for i, name in enumerate(self.style_names) if name in self._named}
            section["named_stats"] = self._named
        return {"style": section}


def named_style_pixels(cfg: TrainConfig, data: Any) -> dict[str, np.ndarray]:
    """Decimated Lab pixels (M, 3) of the training regions of every source with a ``style`` name."""
    from geocolor.color import rgb_to_lab

    by_file = {s.path.rsplit("/", 1)[-1]: s.style for s in cfg.data.sources if s.style}
    pixels: dict[str, list[np.ndarray]] = {}
    for region in getattr(data, "train", []):
        name = by_file.get(region.name.rsplit("@", 1)[0])
        if not name:
            continue
        img = region.image[region.row0 : region.row1, region.col0 : region.col1]
        step = max(1, math.ceil(math.sqrt(img.shape[0] * img.shape[1] / MAX_PIXELS_PER_SOURCE)))
        px = img[::step, ::step].reshape(-1, 3)
        px = px[px.max(axis=1) > 0]
        pixels.setdefault(name, []).append(rgb_to_lab(px.astype(np.float32) / 255.0))
    return {name: np.concatenate(parts) for name, parts in sorted(pixels.items()) if sum(map(len, parts))}


def named_styles(cfg: TrainConfig, data: Any) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per style name, from one pass over its training pixels: the pooled style code, and the L* percentiles
    0..100 (the tonal range ``mosaic --style NAME`` matches inputs to)."""
    from geocolor.style.tone import quantiles

    pixels = named_style_pixels(cfg, data)
    codes = {name: lab_pixels_code(lab) for name, lab in pixels.items()}
    tones = {name: [round(float(v), 3) for v in quantiles(lab[:, 0])] for name, lab in pixels.items()}
    return codes, tones
