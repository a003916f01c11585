"""Colour spaces as network encodings: how L* becomes a network input and how its output becomes a*b*.

geocolor always keeps the input's L* and only predicts chroma, whatever the network learns:

- ``lab`` (1 -> 2): the network sees L* scaled to [-1, 1] and predicts a*b* / ``ab_scale``.
- ``rgb`` (3 -> 3): the network sees the gray image (the sRGB gray of L*) as 3 identical channels in
  [-1, 1] and predicts sRGB in [-1, 1]; that RGB is converted to Lab and only its a*b* is used.

``chroma_gain`` (metadata ``normalization.chroma_gain``, default 1) scales the predicted a*b*: a
saturation calibrated after training on held-out sources (``geocolor.quality.calibrate``), since an
L1-trained network plays safe and predicts less chroma than the truth has.

The trainer encodes its batches, and the translator (mosaic, evaluate) decodes predictions, with the
same ``ColorEncoding``, rebuilt from a model file's ``color_space`` and ``normalization`` metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from geocolor.color import AB_SCALE, lightness_to_gray, rgb_to_lab
from geocolor.errors import ModelFileError

L_OFFSET, L_SCALE = 50.0, 50.0
COLOR_SPACES = ("lab", "rgb")


@dataclass(frozen=True)
class ColorEncoding:
    """Input/target encoding of one colour space (see module docstring)."""

    color_space: str = "lab"
    l_offset: float = L_OFFSET
    l_scale: float = L_SCALE
    ab_scale: float = AB_SCALE
    chroma_gain: float = 1.0

    @property
    def in_channels(self) -> int:
        return 3 if self.color_space == "rgb" else 1

    @property
    def out_channels(self) -> int:
        return 3 if self.color_space == "rgb" else 2

    def normalization(self) -> dict[str, Any]:
        """What goes into a model file's ``normalization`` metadata."""
        gain = {"chroma_gain": self.chroma_gain} if self.chroma_gain != 1.0 else {}
        if self.color_space == "rgb":
            return {"input": "gray_rgb", "rgb_offset": 0.5, "rgb_scale": 0.5, **gain}
        return {"l_offset": self.l_offset, "l_scale": self.l_scale, "ab_scale": self.ab_scale, **gain}

    def encode_input(self, lightness: torch.Tensor) -> torch.Tensor:
        """L* (N, 1, H, W) in [0, 100] -> network input (N, in_channels, H, W)."""
        if self.color_space == "rgb":
            gray = lightness_to_gray(lightness.clamp(0.0, 100.0)) * 2.0 - 1.0
            return gray.expand(-1, 3, -1, -1).contiguous()
        return (lightness - self.l_offset) / self.l_scale

    def encode_target(self, rgb: torch.Tensor, lab: torch.Tensor) -> torch.Tensor:
        """True colour, as sRGB (N, 3, H, W) in [0, 1] and its Lab, -> network target."""
        if self.color_space == "rgb":
            return rgb * 2.0 - 1.0
        return lab[:, 1:] / self.ab_scale

    def decode_chroma(self, output: torch.Tensor) -> torch.Tensor:
        """Network output -> predicted a*b* (N, 2, H, W) in CIE units."""
        if self.color_space == "rgb":
            rgb = ((output.float() + 1.0) * 0.5).clamp(0.0, 1.0)
            ab = rgb_to_lab(rgb, axis=1)[:, 1:].contiguous()
            return ab * self.chroma_gain if self.chroma_gain != 1.0 else ab
        return output.float() * (self.ab_scale * self.chroma_gain)


def encoding_for(color_space: str) -> ColorEncoding:
    """The training encoding of a colour space named in a config."""
    if color_space not in COLOR_SPACES:
        raise ValueError(f"unknown colour space {color_space!r}")
    return ColorEncoding(color_space)


def encoding_from_metadata(meta: dict[str, Any]) -> ColorEncoding:
    """Rebuild the encoding a model file was trained with from its metadata."""
    space = meta.get("color_space")
    if space not in COLOR_SPACES:
        raise ModelFileError(f"model colour space {space!r} is not supported; geocolor knows {', '.join(COLOR_SPACES)}")
    norm = meta.get("normalization") or {}
    gain = _chroma_gain(norm)
    if space == "rgb":
        return ColorEncoding("rgb", chroma_gain=gain)
    try:
        return ColorEncoding("lab", float(norm["l_offset"]), float(norm["l_scale"]), float(norm["ab_scale"]), gain)
    except (KeyError, TypeError, ValueError):
        raise ModelFileError("model normalization metadata lacks l_offset, l_scale or ab_scale") from None


CHROMA_GAIN_RANGE = (0.25, 4.0)


def _chroma_gain(norm: Any) -> float:
    """``normalization.chroma_gain`` (1 when absent), refused outside ``CHROMA_GAIN_RANGE``."""
    raw = norm.get("chroma_gain", 1.0) if isinstance(norm, dict) else 1.0
    try:
        gain = float(raw)
    except (TypeError, ValueError):
        raise ModelFileError(f"model normalization chroma_gain {raw!r} is not a number") from None
    lo, hi = CHROMA_GAIN_RANGE
    if not lo <= gain <= hi:  # also refuses NaN
        raise ModelFileError(f"model normalization chroma_gain {gain} is outside {lo}..{hi}")
    return gain
