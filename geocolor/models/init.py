"""Weight initialisation schemes by name (normal, xavier, kaiming, orthogonal)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils import parametrize

from geocolor.errors import ConfigError

_SCHEMES: dict[str, Callable[[torch.Tensor, float], object]] = {
    "normal": lambda w, gain: nn.init.normal_(w, 0.0, gain),
    "xavier": lambda w, gain: nn.init.xavier_normal_(w, gain=gain),
    "kaiming": lambda w, gain: nn.init.kaiming_normal_(w, a=0, mode="fan_in"),
    "orthogonal": lambda w, gain: nn.init.orthogonal_(w, gain=gain),
}


def init_weights(net: nn.Module, scheme: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise conv weights with ``scheme``, norm weights around 1, biases at 0.

    A parametrised weight (spectral norm) is initialised through its underlying ``original`` tensor.
    """
    if scheme not in _SCHEMES:
        raise ConfigError(f"unknown init {scheme!r}; choose one of {', '.join(_SCHEMES)}")
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = m.get_parameter("parametrizations.weight.original") if parametrize.is_parametrized(m, "weight") else m.weight
            _SCHEMES[scheme](weight, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net
