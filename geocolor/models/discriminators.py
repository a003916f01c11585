"""Discriminators: the PatchGAN of pix2pix.

``basic`` is the 70x70 PatchGAN (3 stride-2 layers); ``n_layers`` lets the depth be chosen. Each
output logit judges one overlapping patch of the (condition, image) pair, concatenated on channels.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from geocolor.models.norms import norm_layer, uses_bias


def patchgan(in_ch: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch") -> nn.Sequential:
    """PatchGAN: conv4 s2 stack, then two stride-1 convs down to one logit per patch."""
    make_norm = norm_layer(norm)
    bias = uses_bias(norm)
    layers: list[nn.Module] = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
    mult = 1
    for n in range(1, n_layers + 1):
        prev, mult = mult, min(2**n, 8)
        stride = 2 if n < n_layers else 1
        layers += [
            nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=bias),
            make_norm(ndf * mult),
            nn.LeakyReLU(0.2, inplace=True),
        ]
    layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
    return nn.Sequential(*layers)


DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {
    "basic": lambda in_ch, ndf=64, norm="batch", n_layers=3: patchgan(in_ch, ndf, 3, norm),
    "n_layers": patchgan,
}
