"""The ``TilePredictor`` and ``Colorizer`` protocols: what a mosaic needs from a model, L* tiles in, a*b* tiles out.

``TilePredictor`` is the engine-neutral part, numpy in and numpy out (``predict_array``): all the
mosaic engine (``geocolor.mosaic``) asks for, and all an ONNX model
(``geocolor.models.onnx_engine.OnnxColorizer``, no torch) offers. ``Colorizer`` adds the torch side
(``device``, ``predict_chroma`` on tensors) that the style code (``geocolor.style.apply``) and
evaluation depend on. Two classes implement ``Colorizer`` and say so by subclassing it:
``geocolor.models.translator.Translator`` (a model file's generator and its metadata) and
``geocolor.style.apply.StyledTranslator`` (a colorizer with a style applied). Anything else with
these members (a wrapper in a test, say) can be passed where one is expected.

The protocol lives apart from ``Translator`` so that importing it costs nothing: torch is imported
here for annotations only, and the modules that type their arguments with it stay cheap to import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeGuard

if TYPE_CHECKING:
    import numpy as np
    import torch

StyleCode: TypeAlias = "Sequence[float] | torch.Tensor"
"""A style code, (D,) or (N, D) (see ``geocolor.models.style``), as numbers or a tensor."""


class TilePredictor(Protocol):
    """Predicts the a*b* of L* tiles as numpy arrays, and says which tiles it takes.

    ``metadata`` is the model file's metadata (``name``, ``style``, ``tile_size``...). Tiles must be
    ``tile_multiple`` pixels a side, or a multiple of it; ``tile_size`` is the side the model was
    trained on, the mosaic's default. ``engine`` names what runs it (``torch``, ``onnx``).
    """

    metadata: Mapping[str, Any]

    @property
    def engine(self) -> str:
        """The inference engine: ``torch`` or ``onnx``."""
        ...

    @property
    def tile_size(self) -> int:
        """The tile side (pixels) the model was trained on."""
        ...

    @property
    def tile_multiple(self) -> int:
        """Tile sides must be a multiple of this (the network's total down-sampling)."""
        ...

    @property
    def style_conditioned(self) -> bool:
        """True when the model takes a style code (a stylecolor model)."""
        ...

    def predict_array(self, lightness: np.ndarray) -> np.ndarray:
        """L* tiles (N, 1, H, W) float32 in [0, 100] -> predicted a*b* (N, 2, H, W) float32 in CIE units."""
        ...


class Colorizer(TilePredictor, Protocol):
    """A ``TilePredictor`` that also predicts on torch tensors, with or without a style code.

    ``device`` is where the network runs.
    """

    device: torch.device

    def predict_chroma(self, lightness: torch.Tensor, style: StyleCode | None = None) -> torch.Tensor:
        """L* tiles (N, 1, H, W) in [0, 100] -> predicted a*b* (N, 2, H, W) in CIE units.

        ``style`` conditions a style-conditioned colorizer; None uses its default style.
        """
        ...


def is_colorizer(model: TilePredictor) -> TypeGuard[Colorizer]:
    """Whether ``model`` also predicts on torch tensors (what styles and evaluation need): the torch engine's."""
    return model.engine == "torch" and callable(getattr(model, "predict_chroma", None))


class Wrapping:
    """For a predictor that wraps another, ``base``: its engine, tile geometry and style conditioning are ``base``'s."""

    base: TilePredictor

    @property
    def engine(self) -> str:
        return self.base.engine

    @property
    def tile_size(self) -> int:
        return self.base.tile_size

    @property
    def tile_multiple(self) -> int:
        return self.base.tile_multiple

    @property
    def style_conditioned(self) -> bool:
        return self.base.style_conditioned
