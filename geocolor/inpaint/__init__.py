"""Inpainting: fill nodata holes and masked damage in rasters with a dense-convolution GAN.

``geocolor.inpaint.inpaint(src, dst, mask=None, model=None, ...)`` fills a GeoTIFF of any size (see
``geocolor.inpaint.engine``); ``masks`` generates training/evaluation holes, ``losses`` holds the
reconstruction and TV losses, ``model`` loads inpainting model files, ``evaluate`` scores models
against scikit-image's biharmonic inpainting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geocolor.lazy import lazy_exports

if TYPE_CHECKING:
    from geocolor.inpaint.engine import InpaintOptions, InpaintResult, inpaint

__all__ = ["InpaintOptions", "InpaintResult", "inpaint"]

_HOMES = {"inpaint": "engine", "InpaintOptions": "engine", "InpaintResult": "engine"}


__getattr__ = lazy_exports(__name__, _HOMES)
