"""A ready-to-use colorizer: luminance tiles in, chroma tiles out.

``Translator`` wraps a generator and the metadata of its model file; it is the ``Colorizer``
(``geocolor.models.colorizer``) that ``geocolor.models.load`` returns. Its one job is
``predict_chroma(L) -> ab``: a batch of L* tiles (N, 1, H, W) in [0, 100] gives the predicted a*b*
(N, 2, H, W) in CIE units. Normalisation (how L* is scaled for the network, how the tanh output is
scaled back) comes from the model's metadata, never from flags. An ``rgb`` model sees the gray as 3
channels and predicts RGB, whose a*b* are returned (see ``geocolor.models.encoding``).

The network runs in channels-last memory layout, in ``precision`` (``fp32``, or ``bf16`` / ``fp16``
autocast; ``geocolor.models.precision`` chooses and checks it): the same weights, faster on CPUs
with bf16 units and on GPUs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from geocolor.errors import ModelFileError
from geocolor.models.colorizer import Colorizer, StyleCode
from geocolor.models.encoding import ColorEncoding, encoding_from_metadata
from geocolor.models.metadata import MetadataView

AUTOCAST = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class Translator(MetadataView, Colorizer):
    """A generator plus what is needed to feed it and read its output."""

    net: nn.Module
    metadata: dict[str, Any]
    device: torch.device
    precision: str = "fp32"  # a key of AUTOCAST
    encoding: ColorEncoding = field(init=False)

    def __post_init__(self) -> None:
        self.encoding = encoding_from_metadata(self.metadata)  # once, not per batch
        if self.precision not in AUTOCAST:
            raise ValueError(f"unknown precision {self.precision!r}; choose one of {', '.join(AUTOCAST)}")

    @property
    def engine(self) -> str:
        return "torch"

    def predict_chroma(self, lightness: torch.Tensor, style: StyleCode | None = None) -> torch.Tensor:
        """Map L* tiles (N, 1, H, W) in [0, 100] to predicted a*b* (N, 2, H, W).

        ``style`` (a style code, (D,) or (N, D); see ``geocolor.models.style``) conditions a
        style-conditioned model; None uses its default style. Plain models take no style.
        """
        encoding = self.encoding
        if style is not None and not self.style_conditioned:
            raise ModelFileError("this model is not style-conditioned; use palette matching (geocolor.style) instead")
        dtype = AUTOCAST[self.precision]
        with torch.inference_mode(), torch.autocast(self.device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            x = encoding.encode_input(lightness.to(self.device, torch.float32)).contiguous(memory_format=torch.channels_last)
            if style is None:
                return encoding.decode_chroma(self.net(x)).contiguous()
            code = torch.as_tensor(style, dtype=torch.float32, device=self.device).reshape(-1, self.net.get_buffer("default_style").numel())
            return encoding.decode_chroma(self.net(x, code.expand(x.shape[0], -1))).contiguous()

    def predict_array(self, lightness: np.ndarray) -> np.ndarray:
        """``predict_chroma`` on numpy: L* (N, 1, H, W) -> a*b* (N, 2, H, W), float32."""
        tiles = torch.from_numpy(np.ascontiguousarray(lightness, dtype=np.float32))
        out: np.ndarray = self.predict_chroma(tiles).cpu().numpy()
        return out


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA when available, else CPU; ``cuda`` without a GPU is a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelFileError("--device cuda was asked for, but torch sees no CUDA GPU; use --device cpu")
    return torch.device(device)


def build_translator(payload: dict[str, Any], device: str = "auto", precision: str = "fp32") -> Translator:
    """Build the generator named in the payload's metadata and load its weights (``precision``: see ``AUTOCAST``)."""
    from geocolor.models.io import build_checked

    meta = payload["metadata"]
    arch = meta["architecture"]
    if meta.get("task", "colorize") != "colorize":  # e.g. an inpainting model (geocolor inpaint)
        raise ModelFileError(f"this is a model for {meta['task']}, not a colorization model; use it with geocolor {meta['task']}")
    encoding_from_metadata(meta)  # refuses an unknown colour space before building anything
    try:
        net = build_checked(arch, payload["state_dict"], "model file")
    except (KeyError, RuntimeError, TypeError) as e:
        raise ModelFileError(f"model weights do not fit architecture {arch.get('generator')!r}: {str(e)[:120]}") from None
    dev = resolve_device(device)
    net = fold_batch_norm(net.eval()).to(dev)
    net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stub lacks memory_format
    return Translator(net=net, metadata=meta, device=dev, precision=precision)


def fold_batch_norm(net: nn.Module) -> nn.Module:
    """Fold each eval-mode BatchNorm into the convolution right before it (same output, ~15 % faster).

    Works on ``nn.Sequential`` blocks where a Conv2d / ConvTranspose2d is directly followed by a
    BatchNorm2d, which is how geocolor's generators are built.
    """
    for module in net.modules():
        if not isinstance(module, nn.Sequential):
            continue
        layers = list(module)
        for i in range(len(layers) - 1):
            conv, bn = layers[i], layers[i + 1]
            if isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                _fold(conv, bn)
                module[i + 1] = nn.Identity()
    return net


@torch.no_grad()
def _fold(conv: nn.Conv2d | nn.ConvTranspose2d, bn: nn.BatchNorm2d) -> None:
    mean, var = bn.running_mean, bn.running_var
    if mean is None or var is None:
        raise ValueError("only a BatchNorm that tracks running statistics can be folded")
    scale = bn.weight / torch.sqrt(var + bn.eps)
    shape = (1, -1, 1, 1) if isinstance(conv, nn.ConvTranspose2d) else (-1, 1, 1, 1)
    conv.weight.mul_(scale.reshape(shape))
    bias = conv.bias if conv.bias is not None else torch.zeros_like(mean)
    conv.bias = nn.Parameter((bias - mean) * scale + bn.bias)
