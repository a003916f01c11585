"""Colorize rasters of any size: tile grid, blending, windowed reads and writes, the ``colorize`` API.

``colorize(src, dst, MosaicOptions(...))`` colorizes one raster (``engine``); ``colorize_many``
colorizes several into one folder with one shared style (``batch``). ``windows`` holds the pure tile
geometry and ``writer`` the colour output's temp file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geocolor.lazy import lazy_exports

if TYPE_CHECKING:
    from geocolor.mosaic.batch import colorize_many
    from geocolor.mosaic.engine import MosaicOptions, MosaicResult, colorize

__all__ = ["MosaicOptions", "MosaicResult", "colorize", "colorize_many"]

_HOMES = {"colorize": "engine", "MosaicOptions": "engine", "MosaicResult": "engine", "colorize_many": "batch"}


__getattr__ = lazy_exports(__name__, _HOMES)
