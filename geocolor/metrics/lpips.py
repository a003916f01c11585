"""LPIPS (Zhang et al., CVPR 2018) written from the paper's definition, weights read from disk only.

For images x and y (sRGB scaled to [-1, 1], then shifted and scaled per channel as in the paper's
reference setup) a fixed ImageNet backbone gives activations ``f_l`` at five ReLU layers. Each is
unit-normalised over its channels, ``f̂_l = f_l / ||f_l||₂``; the distance is
``d(x, y) = Σ_l mean_{h,w} Σ_c w_{l,c} (f̂_l(x) - f̂_l(y))²`` with learned non-negative per-channel
weights ``w_l`` (a 1x1 convolution without bias). Identical images give 0 and d is symmetric.

The ``lpips`` package itself needs torchvision, whose PyPI build does not load beside the CPU torch
used here, so the network is built here (torchvision's ``features`` layer layout, so its state
dicts load as they are) and two files are read with ``torch.load(weights_only=True)``:

- the backbone: torchvision's ``alexnet-owt-7be5be79.pth`` / ``vgg16-397923af.pth`` (or
  ``alexnet.pth`` / ``vgg16.pth``), the files torch keeps in its hub cache;
- the linear weights: ``lpips_alex.pth`` / ``lpips_vgg.pth`` (or ``alex.pth`` / ``vgg.pth``), the
  v0.1 files shipped inside the ``lpips`` package (``lpips/weights/v0.1/``).

They are looked for in ``--weights-dir``, ``$GEOCOLOR_WEIGHTS_DIR`` and ``torch.hub.get_dir()/checkpoints``;
nothing is downloaded. ``load_lpips`` returns the metric or the reason it is unavailable.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch
from torch import nn

# torchvision's `features` stacks: ints are conv output channels (kernel, stride, padding), "M" max-pools.
_ALEX = [(64, 11, 4, 2), "M", (192, 5, 1, 2), "M", (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1)]
_VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]
SHIFT = (-0.030, -0.088, -0.188)  # the paper's input normalisation of [-1, 1] images
SCALE = (0.458, 0.448, 0.450)


@dataclass(frozen=True)
class Backbone:
    """How to build one backbone and where LPIPS taps it (indices of ReLUs in ``features``)."""

    layers: list
    taps: tuple[int, ...]
    channels: tuple[int, ...]
    backbone_files: tuple[str, ...]
    linear_files: tuple[str, ...]
    pool_kernel: int


BACKBONES = {
    "alex": Backbone(_ALEX, (1, 4, 7, 9, 11), (64, 192, 384, 256, 256),
                     ("alexnet-owt-7be5be79.pth", "alexnet.pth"), ("lpips_alex.pth", "alex.pth"), 3),
    "vgg": Backbone([(c, 3, 1, 1) if c != "M" else c for c in _VGG16], (3, 8, 15, 22, 29), (64, 128, 256, 512, 512),
                    ("vgg16-397923af.pth", "vgg16.pth"), ("lpips_vgg.pth", "vgg.pth"), 2),
}


def build_features(net: str) -> nn.Sequential:
    """The backbone's convolutional stack, with torchvision's module indices (random weights)."""
    spec = BACKBONES[net]
    mods: list[nn.Module] = []
    c_in = 3
    for item in spec.layers:
        if item == "M":
            mods.append(nn.MaxPool2d(spec.pool_kernel, 2))
        else:
            c_out, k, s, p = item
            mods += [nn.Conv2d(c_in, c_out, k, s, p), nn.ReLU(inplace=False)]
            c_in = c_out
    return nn.Sequential(*mods)


class LPIPS(nn.Module):
    """The LPIPS distance: a frozen backbone, channel unit-normalisation and per-layer linear weights."""

    shift: torch.Tensor  # buffers: the backbone's input normalisation
    scale: torch.Tensor

    def __init__(self, net: str = "alex") -> None:
        super().__init__()
        self.net = net
        self.taps = BACKBONES[net].taps
        # a slice of a Sequential is a Sequential; torch annotates __getitem__ as returning any Module
        self.features = cast(nn.Sequential, build_features(net)[: self.taps[-1] + 1])
        self.lins = nn.ParameterList(nn.Parameter(torch.ones(c)) for c in BACKBONES[net].channels)
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - self.shift) / self.scale
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10))
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Distance per pair for N x 3 x H x W images in [-1, 1]."""
        total = torch.zeros(x.shape[0], device=x.device)
        for w, fx, fy in zip(self.lins, self.activations(x), self.activations(y)):
            total = total + ((fx - fy).pow(2) * w.view(1, -1, 1, 1)).sum(dim=1).mean(dim=(1, 2))
        return total


def _strip_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Backbone conv weights keyed ``N.weight``, from a whole torchvision model or a bare features dict."""
    if any(k.startswith("features.") for k in state):
        return {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    return dict(state)


def _linear_weights(state: dict[str, torch.Tensor], n: int) -> list[torch.Tensor]:
    """Per-layer channel weights from an lpips v0.1 file (``lin{l}.model.1.weight``, 1 x C x 1 x 1)."""
    found: dict[int, torch.Tensor] = {}
    for key, val in state.items():
        m = re.match(r"lin(\d+)\.(?:model\.\d+\.)?weight$", key)
        if m:
            found[int(m.group(1))] = val.reshape(-1)
    if sorted(found) != list(range(n)):
        raise ValueError(f"expected linear weights lin0..lin{n - 1}, found {sorted(found) or 'none'}")
    return [found[i] for i in range(n)]


def _first(folders: Sequence[Path], names: Sequence[str]) -> Path | None:
    return next((d / n for d in folders for n in names if (d / n).is_file()), None)


def load_lpips(weights_dir: str | os.PathLike[str] | None = None, net: str = "alex") -> tuple[LPIPS | None, str]:
    """The LPIPS metric with weights found on disk, or ``(None, why)`` when they are missing or unusable."""
    from geocolor.metrics.features import searched_dirs, weight_dirs

    spec = BACKBONES[net]
    folders = weight_dirs(weights_dir)
    backbone, linear = _first(folders, spec.backbone_files), _first(folders, spec.linear_files)
    if backbone is None or linear is None:
        missing = [f"{' or '.join(names)}" for path, names in ((backbone, spec.backbone_files), (linear, spec.linear_files))
                   if path is None]
        return None, f"no LPIPS-{net} weights ({'; '.join(missing)}) in {searched_dirs(weights_dir)}"
    model = LPIPS(net)
    try:
        feats = _strip_prefix(torch.load(str(backbone), map_location="cpu", weights_only=True))
        model.features.load_state_dict({k: v for k, v in feats.items() if int(k.split(".")[0]) <= spec.taps[-1]})
        for param, w in zip(model.lins, _linear_weights(torch.load(str(linear), map_location="cpu", weights_only=True), 5)):
            param.copy_(w)
    except (RuntimeError, ValueError, OSError, KeyError, AttributeError, IndexError, TypeError, EOFError,
            pickle.UnpicklingError, zipfile.BadZipFile) as e:  # damaged, foreign or code-carrying files
        return None, f"LPIPS-{net} weights ({backbone.name}, {linear.name}) did not load: {str(e).splitlines()[0][:160]}"
    return model, ""


def to_tensor(images: Sequence[np.ndarray]) -> torch.Tensor:
    """uint8 H x W x 3 images (same size) -> N x 3 x H x W float in [-1, 1]."""
    return torch.from_numpy(np.stack(images).transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1.0)


def lpips_pairs(model: LPIPS, preds: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> list[float]:
    """LPIPS of each (prediction, truth) pair of uint8 sRGB images."""
    out = []
    for p, t in zip(preds, truths):
        with torch.inference_mode():
            out.append(float(model(to_tensor([p]), to_tensor([t]))[0]))
    return out
