"""Build networks from the architecture dict stored in configs and model files.

An architecture is a plain dict, for example::

    {"generator": "unet_256", "in_channels": 1, "out_channels": 2, "ngf": 24,
     "norm": "batch", "dropout": true}
"""

from __future__ import annotations

from typing import Any

from torch import nn

from geocolor.errors import ConfigError
from geocolor.models.discriminators import DISCRIMINATORS, add_spectral_norm
from geocolor.models.generators import GENERATORS


def build_generator(arch: dict[str, Any]) -> nn.Module:
    """The generator an architecture dict describes (untrained)."""
    name = arch["generator"]
    if arch.get("style_dim"):  # a style-conditioned generator (geocolor.models.style)
        from geocolor.models.style import build_style_generator

        return build_style_generator(arch)
    if "z_position" in arch:  # BicycleGAN's z-conditioned U-Net (z = 0 unless given)
        from geocolor.models.zgenerators import build_z_generator

        return build_z_generator(arch)
    if name not in GENERATORS:
        raise ConfigError(f"unknown generator {name!r}; choose one of {', '.join(GENERATORS)}")
    return GENERATORS[name](
        int(arch["in_channels"]),
        int(arch["out_channels"]),
        ngf=int(arch.get("ngf", 64)),
        norm=str(arch.get("norm", "batch")),
        dropout=bool(arch.get("dropout", False)),
    )


def build_discriminator(
    name: str, in_ch: int, ndf: int, n_layers: int = 3, norm: str = "batch", spectral_norm: bool = False
) -> nn.Module:
    """A discriminator by name; ``spectral_norm`` normalises every convolution's weight."""
    if name not in DISCRIMINATORS:
        raise ConfigError(f"unknown discriminator {name!r}; choose one of {', '.join(DISCRIMINATORS)}")
    net = DISCRIMINATORS[name](in_ch, ndf=ndf, n_layers=n_layers, norm=norm)
    return add_spectral_norm(net) if spectral_norm else net
