"""A ready-to-use inpainter: images with holes in, images with the holes filled out.

An inpainting model file is a geocolor model file whose metadata says ``"task": "inpaint"`` and
``"channels"`` (1 gray, 3 colour). Its generator sees the image in [-1, 1] with the hole set to 0,
plus the hole mask as one more channel, and predicts the whole image; only the hole's pixels are
kept (``Inpainter.fill``). Loading a colorization model here, or an inpainting model for
colorization, is a one-line ``ModelFileError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from geocolor.errors import ModelFileError
from geocolor.inpaint.engines import DEFAULT_INPAINT_MODEL as DEFAULT_INPAINT_MODEL  # part of this module's API
from geocolor.models.metadata import MetadataView
from geocolor.types import PathLike

TASK = "inpaint"


def encode_image(image01: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Network input: images (N, C, H, W) in [0, 1] scaled to [-1, 1], 0 inside the hole, plus the hole channel."""
    hole = hole.to(image01.dtype)
    return torch.cat([(image01 * 2.0 - 1.0) * (1.0 - hole), hole], 1)


def normalization() -> dict[str, Any]:
    """What goes into an inpainting model file's ``normalization`` metadata."""
    return {"input": "image01 * 2 - 1, hole set to 0, hole mask appended as a channel", "offset": 0.5, "scale": 0.5}


def check_task(meta: dict[str, Any], name: str) -> None:
    """Refuse a model file that is not an inpainting model, in one line."""
    task = meta.get("task", "colorize")
    if task != TASK:
        raise ModelFileError(
            f"{name} is a {task} model, not an inpainting model; pass an inpainting model with --model "
            "(or none, for the shipped one)"
        )


@dataclass
class Inpainter(MetadataView):
    """A generator plus the metadata of its model file."""

    default_tile_multiple = 32

    net: nn.Module
    metadata: dict[str, Any]
    device: torch.device

    @property
    def engine(self) -> str:
        return "torch"

    def fill(self, image01: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """Images (N, C, H, W) in [0, 1] and holes (N, 1, H, W) -> the images with the holes filled, in [0, 1]."""
        with torch.inference_mode():
            img = image01.to(self.device, torch.float32)
            h = hole.to(self.device, torch.float32)
            return filled(self.net, img, h).cpu()

    def fill_array(self, image01: np.ndarray, hole: np.ndarray) -> np.ndarray:
        """``fill`` on numpy arrays (float32 out)."""
        img = torch.from_numpy(np.ascontiguousarray(image01, dtype=np.float32))
        out: np.ndarray = self.fill(img, torch.from_numpy(np.ascontiguousarray(hole, dtype=np.float32))).numpy()
        return out


def filled(net: nn.Module, image01: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """The network's fill of ``hole`` (N, 1, H, W, 0/1) in ``image01`` (N, C, H, W); known pixels are kept."""
    out = (net(encode_image(image01, hole)).float() + 1.0) * 0.5
    return hole * out.clamp(0.0, 1.0) + (1.0 - hole) * image01


class FillGraph(nn.Module):
    """The exported inpainting graph: (image in [0, 1], hole mask) -> the image with the hole filled."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        return filled(self.net, image, hole)


def fill_graph(payload: dict[str, Any], name: str = "model file") -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """The inpainting module of a model file's payload, and example inputs for tracing (``geocolor.models.export``)."""
    meta = payload["metadata"]
    check_task(meta, name)
    net = _network(payload, name)
    c, tile = int(meta["channels"]), int(meta["tile_size"])
    image = torch.linspace(0.0, 1.0, 2 * c * tile * tile).reshape(2, c, tile, tile)
    hole = torch.zeros(2, 1, tile, tile)
    hole[:, :, tile // 4 : tile // 2, tile // 4 : tile // 2] = 1.0
    return FillGraph(net.eval()).eval(), (image, hole)


def _network(payload: dict[str, Any], name: str) -> nn.Module:
    """The generator of an inpainting payload, its shapes and channel count checked."""
    from geocolor.models.io import build_checked

    meta = payload["metadata"]
    arch = meta["architecture"]
    try:
        net = build_checked(arch, payload["state_dict"], name)
    except (KeyError, RuntimeError, TypeError) as e:
        raise ModelFileError(f"{name}: weights do not fit architecture {arch.get('generator')!r}: {str(e)[:120]}") from None
    if int(meta.get("channels", 0)) not in (1, 3):
        raise ModelFileError(f"{name}: inpainting models have 1 or 3 channels, metadata says {meta.get('channels')!r}")
    return net


def load_inpainter(path: PathLike | None = None, device: str = "auto") -> Inpainter:
    """Load an inpainting model file (the shipped ``weights/inpaint.pt`` when ``path`` is None)."""
    from geocolor.models.io import read_model_file
    from geocolor.models.translator import resolve_device

    path = Path(path) if path is not None else DEFAULT_INPAINT_MODEL
    payload = read_model_file(path)
    meta = payload["metadata"]
    check_task(meta, path.name)
    net = _network(payload, path.name)
    dev = resolve_device(device)
    return Inpainter(net.eval().to(dev), meta, dev)
