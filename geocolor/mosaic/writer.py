"""The colour output's temp file: 3 uint8 bands (red, green, blue) with the input's georeferencing.

The safe-write protocol around it (a raw temp file while tiles stream in, then a COG, then the
rename onto OUT) is shared with inpainting and lives in ``geocolor.raster``.
"""

from __future__ import annotations

from pathlib import Path

from geocolor.raster import create_raw
from geocolor.types import RasterReader, RasterWriter


def open_raw(path: Path, src: RasterReader, tags: dict[str, str]) -> RasterWriter:
    """Create the uncompressed tiled 3-band temp file with the input's georeferencing."""
    dst = create_raw(path, src, count=3, dtype="uint8", photometric="RGB")
    dst.update_tags(**tags)
    for band, name in enumerate(("red", "green", "blue"), start=1):
        dst.set_band_description(band, name)
    return dst
