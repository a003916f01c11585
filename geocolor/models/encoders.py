"""Latent encoders ``E(image) -> (mu, logvar)`` of BicycleGAN, by name.

- ``resnet``: a 4x4 stride-2 convolution, then four residual down-sampling blocks (norm, LeakyReLU,
  3x3 convolution, twice, then 2x2 average pooling; the shortcut average-pools and projects with a
  1x1 convolution), widths nef, 2nef, 3nef, 4nef, 4nef (BicycleGAN's ``resnet_256`` encoder).
- ``conv``: a 4x4 stride-2 convolution and three more with norm and LeakyReLU 0.2, widths nef, 2nef,
  4nef, 4nef (BicycleGAN's ``conv`` encoder).

Both end in global average pooling (so any tile size works) and two linear heads giving the mean
``mu`` and the log-variance ``logvar`` of a diagonal Gaussian over the ``nz``-long code.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from geocolor.errors import ConfigError
from geocolor.models.norms import norm_layer, uses_bias


class ResidualDown(nn.Module):
    """Pre-activation residual block that halves the resolution and changes the width."""

    def __init__(self, in_ch: int, out_ch: int, norm: str) -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), uses_bias(norm)
        self.body = nn.Sequential(
            make_norm(in_ch),
            nn.LeakyReLU(0.2),
            nn.Conv2d(in_ch, in_ch, 3, 1, 1, bias=bias),
            make_norm(in_ch),
            nn.LeakyReLU(0.2),
            nn.Conv2d(in_ch, out_ch, 3, 1, 1),
            nn.AvgPool2d(2),
        )
        self.shortcut = nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(in_ch, out_ch, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.body(x) + self.shortcut(x)
        return out


class LatentEncoder(nn.Module):
    """Convolutional trunk, global average pooling, and the ``mu`` / ``logvar`` heads."""

    def __init__(self, trunk: nn.Module, width: int, nz: int) -> None:
        super().__init__()
        self.trunk = trunk
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc_mu = nn.Linear(width, nz)
        self.fc_logvar = nn.Linear(width, nz)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.pool(self.trunk(x)).flatten(1)
        return self.fc_mu(h), self.fc_logvar(h)


def resnet_encoder(in_ch: int, nz: int, nef: int = 64, norm: str = "instance") -> LatentEncoder:
    widths = [nef * min(k, 4) for k in range(1, 6)]
    layers: list[nn.Module] = [nn.Conv2d(in_ch, widths[0], 4, 2, 1)]
    layers += [ResidualDown(a, b, norm) for a, b in zip(widths, widths[1:])]
    layers.append(nn.LeakyReLU(0.2))
    return LatentEncoder(nn.Sequential(*layers), widths[-1], nz)


def conv_encoder(in_ch: int, nz: int, nef: int = 64, norm: str = "instance") -> LatentEncoder:
    make_norm, bias = norm_layer(norm), uses_bias(norm)
    layers: list[nn.Module] = [nn.Conv2d(in_ch, nef, 4, 2, 1), nn.LeakyReLU(0.2)]
    width = nef
    for n in range(1, 4):
        out = nef * min(2**n, 4)
        layers += [nn.Conv2d(width, out, 4, 2, 1, bias=bias), make_norm(out), nn.LeakyReLU(0.2)]
        width = out
    return LatentEncoder(nn.Sequential(*layers), width, nz)


ENCODERS: dict[str, Callable[..., LatentEncoder]] = {"resnet": resnet_encoder, "conv": conv_encoder}


def build_encoder(name: str, in_ch: int, nz: int, nef: int = 64, norm: str = "instance") -> LatentEncoder:
    if name not in ENCODERS:
        raise ConfigError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODERS)}")
    return ENCODERS[name](in_ch, nz, nef=nef, norm=norm)
