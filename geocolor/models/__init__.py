"""Networks, model files and the translator that mosaic, evaluate and the plugin use.

``geocolor.models.load(path)`` reads a geocolor model file and returns a ``Translator`` whose
``predict_chroma`` maps L* tiles to a*b* tiles, whatever the architecture inside. The mosaic asks
only for a ``Colorizer`` (``geocolor.models.colorizer``), the protocol ``Translator`` implements.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from geocolor.lazy import lazy_exports
from geocolor.types import PathLike

if TYPE_CHECKING:
    from geocolor.models.colorizer import Colorizer
    from geocolor.models.translator import Translator

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "weights" / "default.pt"
STYLE_MODEL = DEFAULT_MODEL.with_name("stylecolor.pt")  # the shipped style-conditioned model: mosaic --style's default


def default_model_for(style: object) -> Path:
    """The shipped model a mosaic uses without ``--model``: the stylecolor model with a style, else the default."""
    return STYLE_MODEL if style is not None and STYLE_MODEL.exists() else DEFAULT_MODEL


def load(path: PathLike | None = None, device: str = "auto") -> Translator:
    """Load a geocolor model file (the shipped default when ``path`` is None)."""
    from geocolor.models.io import read_model_file
    from geocolor.models.translator import build_translator

    return build_translator(read_model_file(path or DEFAULT_MODEL), device=device)


__all__ = ["DEFAULT_MODEL", "STYLE_MODEL", "Colorizer", "Translator", "default_model_for", "load"]

_HOMES = {"Colorizer": "colorizer", "Translator": "translator"}


__getattr__ = lazy_exports(__name__, _HOMES)
