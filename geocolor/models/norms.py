"""Normalisation layers by name, shared by generators and discriminators."""

from __future__ import annotations

import functools
from collections.abc import Callable

from torch import nn

from geocolor.errors import ConfigError


class _Identity(nn.Module):
    def __init__(self, *_args: object, **_kwargs: object) -> None:
        super().__init__()

    def forward(self, x):  # type: ignore[no-untyped-def]
        return x


NORMS: dict[str, Callable[[int], nn.Module]] = {
    "batch": functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True),
    "instance": functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False),
    "none": _Identity,
}


def norm_layer(name: str) -> Callable[[int], nn.Module]:
    """Return a constructor ``f(channels) -> nn.Module`` for the named normalisation."""
    try:
        return NORMS[name]
    except KeyError:
        raise ConfigError(f"unknown norm {name!r}; choose one of {', '.join(NORMS)}") from None


def uses_bias(name: str) -> bool:
    """Convolutions before a batch norm need no bias (the norm has one)."""
    return name != "batch"
