"""Discriminators: the PatchGAN of pix2pix and the 1x1 PixelGAN.

``basic`` is the 70x70 PatchGAN (3 stride-2 layers); ``n_layers`` lets the depth be chosen. Each
output logit judges one overlapping patch of the (condition, image) pair, concatenated on channels.
``pixel`` judges every pixel on its own (1x1 convolutions only): it pushes colour, not texture.

``add_spectral_norm`` wraps every convolution's weight in spectral normalisation (Miyato et al.
2018), which bounds the discriminator's Lipschitz constant; any discriminator can take it.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn
from torch.nn.utils import parametrizations

from geocolor.models.dense import dcgan_discriminator
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


def pixelgan(in_ch: int, ndf: int = 64, n_layers: int = 1, norm: str = "batch") -> nn.Sequential:
    """PixelGAN: 1x1 convs in -> ndf -> 2ndf -> 1 logit per pixel (``n_layers`` is ignored)."""
    del n_layers
    return nn.Sequential(
        nn.Conv2d(in_ch, ndf, 1),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 1, bias=uses_bias(norm)),
        norm_layer(norm)(ndf * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, 1, 1),
    )


def add_spectral_norm(net: nn.Module) -> nn.Module:
    """Spectrally normalise the weight of every convolution in ``net`` (in place; returns ``net``)."""
    convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    for m in convs:
        parametrizations.spectral_norm(m)
    return net


DISCRIMINATORS: dict[str, Callable[..., nn.Module]] = {
    "basic": lambda in_ch, ndf=64, norm="batch", n_layers=3: patchgan(in_ch, ndf, 3, norm),
    "n_layers": patchgan,
    "pixel": pixelgan,
    "dcgan": lambda in_ch, ndf=64, norm="batch", n_layers=5: dcgan_discriminator(in_ch, ndf, 5, norm),  # one logit per image
}
