"""Inpainting engines: the torch ``Inpainter`` or an exported ONNX graph, behind one numpy interface.

``load_filler(model, engine=...)`` returns an ``ImageFiller``: ``fill_array(image01, hole)`` takes
images (N, C, H, W) in [0, 1] and hole masks (N, 1, H, W), and returns the images with the holes
filled. ``engine`` is chosen as for colorization (``geocolor.models.engines.resolve_engine``): an
``.onnx`` path or a missing torch means onnxruntime (``OnnxInpainter``, the ``.onnx`` beside the
``.pt``), which imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from geocolor.errors import InputError, ModelFileError
from geocolor.models.engines import check_threads, onnx_path_for, resolve_engine, set_torch_threads
from geocolor.models.onnx_engine import OnnxModel
from geocolor.types import PathLike

DEFAULT_INPAINT_MODEL = Path(__file__).resolve().parent.parent / "weights" / "inpaint.pt"


class ImageFiller(Protocol):
    """What the inpainting engine needs from a model (see module docstring)."""

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The model file's metadata."""
        ...

    @property
    def engine(self) -> str: ...

    @property
    def channels(self) -> int: ...

    @property
    def tile_size(self) -> int: ...

    @property
    def tile_multiple(self) -> int: ...

    def fill_array(self, image01: np.ndarray, hole: np.ndarray) -> np.ndarray: ...


@dataclass
class OnnxInpainter(OnnxModel):
    """An exported inpainting graph (``geocolor.models.onnx_engine``) as an ``ImageFiller``."""

    default_tile_multiple = 32

    def fill_array(self, image01: np.ndarray, hole: np.ndarray) -> np.ndarray:
        out: np.ndarray = self.graph.run(image=image01, hole=hole)
        if out.shape != image01.shape:
            raise ModelFileError(f"{self.graph.header.path.name} answered shape {list(out.shape)} for images of shape {list(image01.shape)}")
        return out


def load_filler(model: PathLike | None = None, device: str = "auto", engine: str = "auto", threads: int | None = None) -> ImageFiller:
    """An inpainting model (None: the shipped one) on the chosen engine (see module docstring)."""
    path = Path(model) if model is not None else DEFAULT_INPAINT_MODEL
    chosen = resolve_engine(engine, path)
    n = check_threads(threads)
    if chosen == "onnx":
        from geocolor.models.onnx_engine import load_onnx

        filler: ImageFiller = OnnxInpainter(load_onnx(onnx_path_for(path), device, n, task="inpaint"))
        if filler.channels not in (1, 3):
            raise ModelFileError(f"{path.name}: inpainting models have 1 or 3 channels, metadata says {filler.channels}")
        return filler
    if device not in ("auto", "cpu", "cuda"):
        raise InputError(f"--device {device!r} is not one of auto, cpu, cuda")
    from geocolor.inpaint.model import load_inpainter

    set_torch_threads(threads if threads is None else n)
    return load_inpainter(path, device=device)
