"""Networks of the dense-convolution inpainting GAN: a dense-block U-Net generator and a DCGAN critic.

The generator (``dense_unet``) follows the seed paper's encoder-decoder:

- a 4x4 stride-2 convolution (H -> H/2, ``ngf`` channels);
- four encoder stages, each a dense block (every layer sees the concatenation of the block's input
  and all earlier layers' outputs; each layer is BN-ReLU-Conv3x3 adding ``growth`` channels) then a
  transition (BN-ReLU-Conv1x1 to the next width, 2x2 average pooling): H/2 -> H/32;
- no fully connected bottleneck: the decoder starts from the H/32 feature map;
- four decoder stages, each a dense block then BN-ReLU-ConvTranspose 4x4 stride 2, whose output is
  concatenated with the encoder's dense-block output of the same resolution (U-Net skips);
- a final BN-ReLU-ConvTranspose 4x4 stride 2 back to H and tanh.

``dense_unet_rc`` is the same network with every transposed convolution replaced by a resize
convolution (nearest-neighbour x2, then a 3x3 convolution): a stride-2 4x4 transposed convolution
paints each output pixel from an unequal number of kernel taps depending on its parity, which shows
as a fine checkerboard in flat fills; upsampling first gives every output pixel the same taps.

Widths are ngf, 2ngf, 4ngf, 8ngf, 8ngf by level; a level's growth rate is a quarter of its width. Inputs must
be multiples of 32. ``plain_ae`` is the seed's comparison model: the same down/up path with each dense
block replaced by one BN-ReLU-Conv3x3 and no skip connections (a plain convolutional autoencoder).

The discriminator ``dcgan`` is the seed's DCGAN classifier: five 4x4 stride-2 convolutions (BN after
all but the first, LeakyReLU 0.2), then one logit per image (global average, then a linear layer, so
any input size works).
"""

from __future__ import annotations

import torch
from torch import nn

from geocolor.models.norms import norm_layer, uses_bias

DENSE_LAYERS = 4  # layers per dense block (x1..x4 in the seed's figure)


def _brc(in_ch: int, out_ch: int, kernel: int, norm: str) -> list[nn.Module]:
    """BN-ReLU-Conv, the transform of every dense layer and transition."""
    return [norm_layer(norm)(in_ch), nn.ReLU(inplace=True), nn.Conv2d(in_ch, out_ch, kernel, 1, kernel // 2, bias=uses_bias(norm))]


class DenseBlock(nn.Module):
    """``n_layers`` BN-ReLU-Conv3x3 layers, each fed the concatenation of everything before it."""

    def __init__(self, in_ch: int, growth: int, n_layers: int = DENSE_LAYERS, norm: str = "batch") -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Sequential(*_brc(in_ch + i * growth, growth, 3, norm)) for i in range(n_layers))
        self.out_channels = in_ch + n_layers * growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for layer in self.layers:
            feats.append(layer(torch.cat(feats, 1)))
        return torch.cat(feats, 1)


class PlainBlock(nn.Module):
    """One BN-ReLU-Conv3x3 keeping the width: the dense block's stand-in in ``plain_ae``."""

    def __init__(self, in_ch: int, norm: str = "batch") -> None:
        super().__init__()
        self.body = nn.Sequential(*_brc(in_ch, in_ch, 3, norm))
        self.out_channels = in_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.body(x)
        return out


def _upsample_conv(in_ch: int, out_ch: int, bias: bool, resize: bool) -> nn.Module:
    """x2 upsampling convolution: a 4x4 stride-2 transposed convolution, or nearest x2 + 3x3 convolution."""
    if resize:
        return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=bias))
    return nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=bias)


def _up(in_ch: int, out_ch: int, norm: str, resize: bool = False) -> nn.Sequential:
    return nn.Sequential(norm_layer(norm)(in_ch), nn.ReLU(inplace=True), _upsample_conv(in_ch, out_ch, uses_bias(norm), resize))


class DenseUnet(nn.Module):
    """The dense-block encoder-decoder (see module docstring); ``dense=False, skips=False`` is ``plain_ae``."""

    def __init__(
        self, in_ch: int, out_ch: int, ngf: int = 32, norm: str = "batch", dense: bool = True, skips: bool = True,
        resize: bool = False,
    ) -> None:
        super().__init__()
        widths = [ngf * min(2**i, 8) for i in range(5)]
        self.skips = skips
        self.stem = nn.Conv2d(in_ch, widths[0], 4, 2, 1)
        self.enc = nn.ModuleList()
        self.down = nn.ModuleList()
        skip_ch = []
        for i in range(4):
            block = DenseBlock(widths[i], max(1, widths[i] // 4), norm=norm) if dense else PlainBlock(widths[i], norm)
            skip_ch.append(block.out_channels)
            self.enc.append(block)
            self.down.append(nn.Sequential(*_brc(block.out_channels, widths[i + 1], 1 if dense else 3, norm), nn.AvgPool2d(2)))
        self.dec = nn.ModuleList()
        self.up = nn.ModuleList()
        ch = widths[4]
        for i in reversed(range(4)):
            block = DenseBlock(ch, max(1, widths[i + 1] // 4), norm=norm) if dense else PlainBlock(ch, norm)
            self.dec.append(block)
            self.up.append(_up(block.out_channels, widths[i], norm, resize))
            ch = widths[i] + (skip_ch[i] if skips else 0)
        self.head = nn.Sequential(norm_layer(norm)(ch), nn.ReLU(inplace=True), _upsample_conv(ch, out_ch, True, resize), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        saved = []
        for block, down in zip(self.enc, self.down):
            x = block(x)
            saved.append(x)
            x = down(x)
        for block, up in zip(self.dec, self.up):
            x = up(block(x))
            skip = saved.pop()
            if self.skips:
                x = torch.cat([x, skip], 1)
        out: torch.Tensor = self.head(x)
        return out


def dense_unet(in_ch: int, out_ch: int, ngf: int = 32, norm: str = "batch", dropout: bool = False) -> nn.Module:
    """The seed's dense-block U-Net (``dropout`` is accepted for the registry's signature and unused)."""
    del dropout
    return DenseUnet(in_ch, out_ch, ngf, norm, dense=True, skips=True)


def dense_unet_rc(in_ch: int, out_ch: int, ngf: int = 32, norm: str = "batch", dropout: bool = False) -> nn.Module:
    """The dense-block U-Net with resize-convolution upsampling (no checkerboard; see module docstring)."""
    del dropout
    return DenseUnet(in_ch, out_ch, ngf, norm, dense=True, skips=True, resize=True)


def plain_ae(in_ch: int, out_ch: int, ngf: int = 32, norm: str = "batch", dropout: bool = False) -> nn.Module:
    """The plain convolutional autoencoder baseline (no dense blocks, no skips)."""
    del dropout
    return DenseUnet(in_ch, out_ch, ngf, norm, dense=False, skips=False)


def dcgan_discriminator(in_ch: int, ndf: int = 64, n_layers: int = 5, norm: str = "batch") -> nn.Module:
    """DCGAN classifier: ``n_layers`` (5 in the seed) 4x4 stride-2 convs, then one logit per image."""
    layers: list[nn.Module] = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
    width = ndf
    for i in range(1, max(1, n_layers)):
        nxt = ndf * min(2**i, 8)
        layers += [nn.Conv2d(width, nxt, 4, 2, 1, bias=uses_bias(norm)), norm_layer(norm)(nxt), nn.LeakyReLU(0.2, inplace=True)]
        width = nxt
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 1)]
    return nn.Sequential(*layers)


DENSE_TILE_MULTIPLE = 32
