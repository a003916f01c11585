"""Style conditioning: a fixed-length colour code of a reference, and a U-Net the code steers.

The *style code* (``STYLE_DIM`` = 11 numbers) summarises how an image is coloured, independent of
what it shows or how big it is:

- the mean and standard deviation of a* and b*, and their correlation (5 numbers): the palette's
  centre, spread and tilt (the Gaussian that palette matching moves);
- the mean a*, b* of the dark (L* < 35), mid and bright (L* >= 65) pixels (6 numbers): how shadows,
  mid-tones and highlights are tinted (blue shadows, warm film highlights).

Means and standard deviations are divided by ``CODE_SCALE`` so the code is of order one. The same
function runs on training batches (differentiable, for the style loss) and on a reference raster's
pixels, so training and inference agree.

``StyleUnetGenerator`` is the pix2pix U-Net whose decoder is modulated by the code (FiLM: each
decoder feature map ``h`` becomes ``h * (1 + gamma) + beta`` with ``gamma, beta`` predicted from the
code by a small MLP; the modulation starts at zero, so an untrained style generator is a plain U-Net).
A ``default_style`` buffer (the mean code of the training colours) is used when no style is given,
so a style model works wherever a plain generator does.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from geocolor.models.generators import UnetGenerator

STYLE_DIM = 11
CODE_SCALE = 50.0
CODE_NAME = "lab-moments-v1"
L_BANDS = (35.0, 65.0)  # L* thresholds of the dark / mid / bright tint means


def style_code(lightness: torch.Tensor, ab: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Style codes (N, STYLE_DIM) of images given as L* (N, 1, H, W) and a*b* (N, 2, H, W) in CIE units.

    ``weight`` (N, 1, H, W), e.g. a validity mask, weights each pixel (default: all 1). Differentiable
    in ``ab``. An empty lightness band falls back towards the image's overall mean tint.
    """
    n = ab.shape[0]
    w = torch.ones_like(lightness) if weight is None else weight.to(ab.dtype)
    w = w.reshape(n, 1, -1)
    px = ab.reshape(n, 2, -1)
    total = w.sum(-1).clamp_min(1e-6)  # (N, 1)
    mean = (px * w).sum(-1) / total  # (N, 2)
    centred = px - mean[..., None]
    var = (centred.square() * w).sum(-1) / total
    std = (var + 1e-4).sqrt()
    cov = (centred[:, 0] * centred[:, 1] * w[:, 0]).sum(-1) / total[:, 0]
    corr = (cov / (std[:, 0] * std[:, 1])).clamp(-1.0, 1.0)
    lum = lightness.reshape(n, 1, -1)
    lo, hi = L_BANDS
    tints = []
    for band in (lum < lo, (lum >= lo) & (lum < hi), lum >= hi):
        wb = w * band.to(ab.dtype)
        tints.append(((px * wb).sum(-1) + mean) / (wb.sum(-1) + 1.0))  # shrunk towards the mean
    parts = [mean / CODE_SCALE, std / CODE_SCALE, corr[:, None]] + [t / CODE_SCALE for t in tints]
    return torch.cat(parts, dim=1)


def code_moments(code: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The a*b* mean (2,) and covariance (2, 2) a style code (STYLE_DIM,) describes."""
    mean = code[:2] * CODE_SCALE
    std = code[2:4] * CODE_SCALE
    c = code[4] * std[0] * std[1]
    cov = torch.stack([torch.stack([std[0] ** 2, c]), torch.stack([c, std[1] ** 2])])
    return mean, cov


def code_map(code: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Style codes (N, D) broadcast to constant feature maps (N, D, H, W), for a conditional discriminator."""
    return code[:, :, None, None].expand(-1, -1, height, width)


class StyleUnetGenerator(nn.Module):
    """A U-Net whose decoder is FiLM-modulated by a style code (see module docstring)."""

    default_style: torch.Tensor  # a buffer: the code used when none is given

    def __init__(self, unet: UnetGenerator, style_dim: int = STYLE_DIM, hidden: int = 64) -> None:
        super().__init__()
        self.unet = unet
        self.embed = nn.Sequential(nn.Linear(style_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, hidden), nn.ReLU(inplace=True))
        widths = [_out_channels(layer) for layer in unet.up[:-1]]
        self.film = nn.ModuleList(nn.Linear(hidden, 2 * c) for c in widths)
        self.zero_film()
        self.register_buffer("default_style", torch.zeros(style_dim))

    def zero_film(self) -> None:
        """No modulation: the generator is its plain U-Net, whatever the code (call after a weight init)."""
        for param in self.film.parameters():  # every FiLM layer's weight and bias
            nn.init.zeros_(param)

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        if style is None:
            style = self.default_style.expand(x.shape[0], -1)
        h = self.embed(style.to(x.dtype))

        def film(j: int, features: torch.Tensor) -> torch.Tensor:
            params: torch.Tensor = self.film[j](h)
            gamma, beta = params[:, :, None, None].chunk(2, dim=1)
            return features * (1.0 + gamma) + beta

        return self.unet.run(x, film)


def _out_channels(layer: nn.Module) -> int:
    convs = [m for m in layer.modules() if isinstance(m, nn.ConvTranspose2d)]
    return int(convs[-1].out_channels)


def build_style_generator(arch: dict[str, Any]) -> nn.Module:
    """The style generator an architecture dict with ``style_dim`` describes (a U-Net: unet_128 / unet_256)."""
    from geocolor.errors import ConfigError
    from geocolor.models.generators import GENERATORS

    name = arch["generator"]
    unet = GENERATORS[name](
        int(arch["in_channels"]),
        int(arch["out_channels"]),
        ngf=int(arch.get("ngf", 64)),
        norm=str(arch.get("norm", "batch")),
        dropout=bool(arch.get("dropout", False)),
    ) if name in GENERATORS else None
    if not isinstance(unet, UnetGenerator):
        raise ConfigError(f"style conditioning needs a U-Net generator (unet_128 or unet_256), not {name!r}")
    return StyleUnetGenerator(unet, style_dim=int(arch["style_dim"]))


def lab_pixels_code(lab: Any) -> list[float]:
    """The style code of a set of Lab pixels (M, 3) (numpy or torch), as a plain list of floats."""
    px = torch.as_tensor(lab, dtype=torch.float32).reshape(-1, 3)
    if px.shape[0] == 0:
        raise ValueError("no pixels to compute a style code from")
    grid = px.T[None, :, :, None]  # (1, 3, M, 1): an image one pixel wide
    return [float(v) for v in style_code(grid[:, :1], grid[:, 1:])[0]]
