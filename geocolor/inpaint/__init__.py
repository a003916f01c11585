"""Inpainting: fill nodata holes and masked damage in rasters with a dense-convolution GAN.

``geocolor.inpaint.inpaint(src, dst, mask=None, model=None, ...)`` fills a GeoTIFF of any size (see
``geocolor.inpaint.engine``); ``masks`` generates training/evaluation holes, ``losses`` holds the
reconstruction and TV losses, ``model`` loads inpainting model files, ``evaluate`` scores models
against scikit-image's biharmonic inpainting.
"""

from __future__ import annotations

from typing import Any


def inpaint(*args: Any, **kwargs: Any) -> Any:
    """See ``geocolor.inpaint.engine.inpaint``."""
    from geocolor.inpaint.engine import inpaint as _inpaint

    return _inpaint(*args, **kwargs)


__all__ = ["inpaint"]
