"""Colorize rasters of any size: tile grid, blending, windowed reads and writes, the ``colorize`` API."""

from __future__ import annotations

from typing import Any


def colorize(*args: Any, **kwargs: Any) -> Any:
    """See ``geocolor.mosaic.engine.colorize``."""
    from geocolor.mosaic.engine import colorize as _colorize

    return _colorize(*args, **kwargs)


__all__ = ["colorize"]
