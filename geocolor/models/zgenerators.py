"""The z-conditioned U-Net of BicycleGAN: the pix2pix U-Net plus a latent code ``z`` of ``nz`` numbers.

``z`` is tiled over the spatial grid and concatenated to a feature map as ``nz`` extra channels,
where ``z_position`` says:

- ``input``: to the image, before the first convolution (BicycleGAN's ``add_to_input``);
- ``all``: before every down-sampling convolution (BicycleGAN's ``add_to_all``);
- ``middle``: to the bottleneck, before the first up-sampling convolution (the seed study's variant).

Only the convolutions that see ``z`` get wider; everything else (widths, norms, dropout, skips,
activations) is ``UnetGenerator``'s, so ``nz = 0`` would be the plain U-Net. ``forward(x)`` without
``z`` uses z = 0, the mean of the N(0, I) prior: that is what an exported model does in ``mosaic``.
Built from an architecture dict that carries ``nz`` and ``z_position`` (see ``registry``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from geocolor.errors import ConfigError
from geocolor.models.generators import UnetGenerator

Z_POSITIONS = ("input", "all", "middle")
UNET_DOWNS = {"unet_128": 7, "unet_256": 8}


def _pair(value: tuple[int, ...]) -> tuple[int, int]:
    """A 2-D convolution's (height, width) setting (kernel size, stride, padding)."""
    return value[0], value[1]


def _sequential(block: nn.Module) -> nn.Sequential:
    if not isinstance(block, nn.Sequential):
        raise TypeError(f"z enters a block through its convolution; expected an nn.Sequential block, got {type(block).__name__}")
    return block


def _widen(block: nn.Module, extra: int) -> None:
    """Replace the block's (first) convolution by one taking ``extra`` more input channels."""
    block = _sequential(block)
    for i, layer in enumerate(block):
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            if isinstance(layer.padding, str):
                raise ValueError(f"cannot widen a convolution with padding {layer.padding!r}")
            block[i] = type(layer)(
                layer.in_channels + extra, layer.out_channels, _pair(layer.kernel_size), _pair(layer.stride), _pair(layer.padding),
                bias=layer.bias is not None,
            )
            return
    raise ValueError("block has no convolution to widen")


def _with_z(block: nn.Module, x: torch.Tensor, z: torch.Tensor | None) -> torch.Tensor:
    """Run ``block``, concatenating the tiled ``z`` to the input of its convolution (when given)."""
    if z is None:
        out: torch.Tensor = block(x)
        return out
    for layer in _sequential(block):
        if z is not None and isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            x = torch.cat([x, z[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
            z = None
        x = layer(x)
    return x


class ZUnetGenerator(UnetGenerator):
    """U-Net generator ``G(x, z)`` with the latent code entering at ``z_position`` (module docstring)."""

    def __init__(self, in_ch: int, out_ch: int, num_downs: int, nz: int = 8, z_position: str = "input", **unet: Any) -> None:
        """``unet``: ``UnetGenerator``'s ``ngf``, ``norm`` and ``dropout``."""
        if z_position not in Z_POSITIONS:
            raise ConfigError(f"unknown z_position {z_position!r}; choose one of {', '.join(Z_POSITIONS)}")
        if nz < 1:
            raise ConfigError(f"nz must be at least 1, got {nz}")
        super().__init__(in_ch, out_ch, num_downs, **unet)
        self.nz = nz
        self.z_position = z_position
        self.z_down = {"input": {0}, "all": set(range(num_downs)), "middle": set()}[z_position]
        for i in self.z_down:
            _widen(self.down[i], nz)
        if z_position == "middle":
            _widen(self.up[0], nz)

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        if z is None:
            z = x.new_zeros(x.shape[0], self.nz)
        skips = []
        for i, layer in enumerate(self.down):
            x = _with_z(layer, x, z if i in self.z_down else None)
            skips.append(x)
        x = skips.pop()
        for j, layer in enumerate(self.up):
            if j > 0:
                x = torch.cat([skips.pop(), x], dim=1)
            x = _with_z(layer, x, z if j == 0 and self.z_position == "middle" else None)
        return x


def build_z_generator(arch: dict[str, Any]) -> ZUnetGenerator:
    """The z-conditioned U-Net an architecture dict (with ``nz`` and ``z_position``) describes."""
    name = arch["generator"]
    if name not in UNET_DOWNS:
        raise ConfigError(f"a z-conditioned generator must be a U-Net ({', '.join(UNET_DOWNS)}), not {name!r}")
    return ZUnetGenerator(
        int(arch["in_channels"]),
        int(arch["out_channels"]),
        UNET_DOWNS[name],
        ngf=int(arch.get("ngf", 64)),
        norm=str(arch.get("norm", "batch")),
        dropout=bool(arch.get("dropout", False)),
        nz=int(arch["nz"]),
        z_position=str(arch["z_position"]),
    )
