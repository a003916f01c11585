"""Image-to-image generators: the U-Net (``unet_128``, ``unet_256``) and ResNet (``resnet_6blocks``,
``resnet_9blocks``) generators of pix2pix / CycleGAN.

The U-Net halves the resolution ``num_downs`` times with 4x4 stride-2 convolutions (LeakyReLU 0.2,
no norm on the first and the innermost layer), then doubles it back with transposed convolutions
(ReLU), concatenating each encoder feature map with the decoder map of the same size. Channel
widths are ngf, 2ngf, 4ngf, 8ngf, then 8ngf down to the bottleneck; the three 8ngf decoder layers
after the bottleneck use dropout 0.5 when asked. ``unet_256`` with ngf 64 has 54.4 M parameters,
as published. Input sizes must be multiples of ``2 ** num_downs``.

The ResNet generator (Johnson et al.) is a reflection-padded 7x7 convolution, two 3x3 stride-2
down-sampling convolutions (ngf -> 2ngf -> 4ngf), ``n_blocks`` residual blocks at 4ngf (two
reflection-padded 3x3 convolutions, dropout 0.5 between them when asked), two transposed-convolution
up-sampling steps, a reflection-padded 7x7 convolution and tanh. With ngf 64, 3 -> 3 channels and
instance norm, ``resnet_9blocks`` has 11.378 M parameters and ``resnet_6blocks`` 7.84 M, as published.
Input sizes must be multiples of 4.

Generators are registered by name in ``GENERATORS``; each takes ``(in_ch, out_ch, ngf, norm,
dropout)`` and returns an ``nn.Module`` whose output is in [-1, 1] (tanh).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from geocolor.models.dense import DENSE_TILE_MULTIPLE, dense_unet, dense_unet_rc, plain_ae
from geocolor.models.norms import norm_layer, uses_bias


class UnetGenerator(nn.Module):
    """U-Net encoder-decoder with skip connections (see module docstring)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        num_downs: int,
        ngf: int = 64,
        norm: str = "batch",
        dropout: bool = False,
    ) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError("a U-Net needs at least 5 down-sampling steps")
        self.num_downs = num_downs
        make_norm = norm_layer(norm)
        bias = uses_bias(norm)
        widths = [ngf, ngf * 2, ngf * 4, ngf * 8] + [ngf * 8] * (num_downs - 4)
        self.down = nn.ModuleList()
        prev = in_ch
        for i, width in enumerate(widths):
            layers: list[nn.Module] = []
            if i > 0:
                layers.append(nn.LeakyReLU(0.2, inplace=True))
            layers.append(nn.Conv2d(prev, width, 4, 2, 1, bias=bias or i == 0 or i == num_downs - 1))
            if 0 < i < num_downs - 1:
                layers.append(make_norm(width))
            self.down.append(nn.Sequential(*layers))
            prev = width
        self.up = nn.ModuleList()
        for i in reversed(range(num_downs)):
            inner = widths[i]
            target = widths[i - 1] if i > 0 else out_ch
            in_width = inner if i == num_downs - 1 else inner * 2
            layers = [nn.ReLU(inplace=True)]
            if i == 0:
                layers += [nn.ConvTranspose2d(in_width, target, 4, 2, 1), nn.Tanh()]
            else:
                layers += [nn.ConvTranspose2d(in_width, target, 4, 2, 1, bias=bias), make_norm(target)]
                if dropout and num_downs - 4 <= i <= num_downs - 2 and i >= 4:
                    layers.append(nn.Dropout(0.5))
            self.up.append(nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x)

    def run(self, x: torch.Tensor, modulate: Callable[[int, torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        """The forward pass; ``modulate(j, h)``, if given, transforms the output of decoder layer ``j``
        (all but the last), which is how a style code steers the decoder (``geocolor.models.style``)."""
        skips = []
        for layer in self.down:
            x = layer(x)
            skips.append(x)
        x = skips.pop()
        last = len(self.up) - 1
        for j, layer in enumerate(self.up):
            if j > 0:
                x = torch.cat([skips.pop(), x], dim=1)
            x = layer(x)
            if modulate is not None and j < last:
                x = modulate(j, x)
        return x


class ResnetBlock(nn.Module):
    """x + conv3(relu(norm(conv3(x)))), reflection padded, with optional dropout in between."""

    def __init__(self, channels: int, norm: str, dropout: bool) -> None:
        super().__init__()
        make_norm = norm_layer(norm)
        bias = uses_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            make_norm(channels),
            nn.ReLU(inplace=True),
        ]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), make_norm(channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = x + self.body(x)
        return out


class ResnetGenerator(nn.Module):
    """Down-sample twice, ``n_blocks`` residual blocks, up-sample twice (see module docstring)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        n_blocks: int,
        ngf: int = 64,
        norm: str = "batch",
        dropout: bool = False,
    ) -> None:
        super().__init__()
        make_norm = norm_layer(norm)
        bias = uses_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_ch, ngf, 7, bias=bias),
            make_norm(ngf),
            nn.ReLU(inplace=True),
        ]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1, bias=bias), make_norm(ngf * mult * 2), nn.ReLU(inplace=True)]
        layers += [ResnetBlock(ngf * 4, norm, dropout) for _ in range(n_blocks)]
        for mult in (4, 2):
            layers += [
                nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1, bias=bias),
                make_norm(ngf * mult // 2),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.model(x)
        return out


GeneratorFactory = Callable[..., nn.Module]


def _unet(num_downs: int) -> GeneratorFactory:
    def build(in_ch: int, out_ch: int, ngf: int = 64, norm: str = "batch", dropout: bool = False) -> nn.Module:
        return UnetGenerator(in_ch, out_ch, num_downs, ngf=ngf, norm=norm, dropout=dropout)

    return build


def _resnet(n_blocks: int) -> GeneratorFactory:
    def build(in_ch: int, out_ch: int, ngf: int = 64, norm: str = "batch", dropout: bool = False) -> nn.Module:
        return ResnetGenerator(in_ch, out_ch, n_blocks, ngf=ngf, norm=norm, dropout=dropout)

    return build


GENERATORS: dict[str, GeneratorFactory] = {
    "unet_128": _unet(7),
    "unet_256": _unet(8),
    "resnet_6blocks": _resnet(6),
    "resnet_9blocks": _resnet(9),
    "dense_unet": dense_unet,  # inpainting (geocolor.models.dense)
    "dense_unet_rc": dense_unet_rc,
    "plain_ae": plain_ae,
}

TILE_MULTIPLES: dict[str, int] = {"unet_128": 128, "unet_256": 256, "resnet_6blocks": 4, "resnet_9blocks": 4,
                                 "dense_unet": DENSE_TILE_MULTIPLE,
                                 "dense_unet_rc": DENSE_TILE_MULTIPLE, "plain_ae": DENSE_TILE_MULTIPLE}


def tile_multiple(name: str) -> int:
    """The size a generator's input must be a multiple of."""
    return TILE_MULTIPLES.get(name, 4)
