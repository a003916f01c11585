"""The ``Colorizer`` protocol: what a mosaic needs from a model, L* tiles in, a*b* tiles out.

The mosaic engine (``geocolor.mosaic``), the style code (``geocolor.style.apply``) and evaluation
depend on this protocol, not on a class. Two classes implement it and say so by subclassing it:
``geocolor.models.translator.Translator`` (a model file's generator and its metadata) and
``geocolor.style.apply.StyledTranslator`` (a colorizer with a style applied). Anything else with
these members (a wrapper in a test, say) can be passed where a ``Colorizer`` is expected.

The protocol lives apart from ``Translator`` so that importing it costs nothing: torch is imported
here for annotations only, and the modules that type their arguments with it stay cheap to import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

if TYPE_CHECKING:
    import torch

StyleCode: TypeAlias = "Sequence[float] | torch.Tensor"
"""A style code, (D,) or (N, D) (see ``geocolor.models.style``), as numbers or a tensor."""


class Colorizer(Protocol):
    """Predicts the a*b* of L* tiles, and says which tiles it takes.

    ``metadata`` is the model file's metadata (``name``, ``style``, ``tile_size``...); ``device`` is
    where the network runs. Tiles must be ``tile_multiple`` pixels a side, or a multiple of it;
    ``tile_size`` is the side the model was trained on, the mosaic's default.
    """

    metadata: Mapping[str, Any]
    device: torch.device

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
        """True when ``predict_chroma`` takes a style code (a stylecolor model)."""
        ...

    def predict_chroma(self, lightness: torch.Tensor, style: StyleCode | None = None) -> torch.Tensor:
        """L* tiles (N, 1, H, W) in [0, 100] -> predicted a*b* (N, 2, H, W) in CIE units.

        ``style`` conditions a style-conditioned colorizer; None uses its default style.
        """
        ...
