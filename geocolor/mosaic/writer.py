"""The colour output's files: 3 uint8 bands (red, green, blue) with the input's georeferencing, and
the sinks the blender hands finished rows to.

Two ways to the final file (``geocolor.mosaic.engine`` picks one):

- *direct*, when the raster is processed in one column band (up to ``band_width`` pixels wide): rows
  are collected into whole rows of output blocks (``BlockRowSink``) and written, compressed, straight
  into the final tiled GeoTIFF's temp file, so every block is compressed exactly once, in the writer
  thread, while the model works; internal overviews are added after the last row
  (``geocolor.raster.add_overviews``: one read of the compressed file, no recompression of full
  resolution), then the file is renamed onto OUT;
- *raw*, for wider rasters (processed band by band, whose blocks straddle bands) or a strict COG
  layout: an uncompressed tiled temp file copied once to a COG or tiled GeoTIFF
  (``geocolor.raster.finalize``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from geocolor.raster import compression_options, create_raw
from geocolor.types import RasterReader, RasterWriter

BLOCK = 512  # output block side (the COG driver's default)


def _describe(dst: RasterWriter, tags: dict[str, str]) -> RasterWriter:
    dst.update_tags(**tags)
    for band, name in enumerate(("red", "green", "blue"), start=1):
        dst.set_band_description(band, name)
    return dst


def open_raw(path: Path, src: RasterReader, tags: dict[str, str]) -> RasterWriter:
    """Create the uncompressed tiled 3-band temp file with the input's georeferencing."""
    return _describe(create_raw(path, src, count=3, dtype="uint8", photometric="RGB"), tags)


def open_direct(path: Path, src: RasterReader, tags: dict[str, str], compress: str) -> RasterWriter:
    """Create the compressed tiled 3-band output (``BLOCK`` px blocks) with the input's georeferencing."""
    options = {k.lower(): v for k, v in compression_options(compress).items()}
    return _describe(create_raw(path, src, count=3, dtype="uint8", photometric="RGB", blockxsize=BLOCK, blockysize=BLOCK,
                                **options), tags)


class BlockRowSink:
    """A ``RasterWriter`` over ``out`` that collects full-width rows, arriving top to bottom, and writes
    them one whole block row at a time.

    A compressed GeoTIFF block written in pieces is compressed, read back and rewritten (slower, and
    the dead copies stay in the file); a whole block row is written once. Each ``write`` must cover
    the full width and start where the previous one ended; a ``write_mask`` for the same rows comes
    before it (rows without one are valid).
    """

    def __init__(self, out: RasterWriter, with_mask: bool, block: int = BLOCK) -> None:
        self.out, self.block = out, block
        self.name, self.width, self.height, self.count = out.name, out.width, out.height, out.count
        self.gcps, self.colorinterp = out.gcps, out.colorinterp
        self.rgb = np.zeros((out.count, block, self.width), dtype=np.uint8)
        self.mask = np.full((block, self.width), 255, dtype=np.uint8) if with_mask else None
        self.top = 0  # first raster row of the block row being collected
        self.rows = 0  # rows of it collected so far
        self._next_mask: np.ndarray | None = None

    def _rows(self, window: Any, h: int, w: int) -> int:
        x, y = int(window.col_off), int(window.row_off)
        if x != 0 or w != self.width or y != self.top + self.rows:
            raise ValueError(f"rows must arrive whole and in order: got column {x}, width {w}, row {y}; "
                             f"expected row {self.top + self.rows}")
        return y

    def write_mask(self, mask_array: np.ndarray, window: Any = None) -> None:
        if self.mask is None:
            raise ValueError("this output was opened without a mask")
        self._rows(window, *mask_array.shape)
        self._next_mask = mask_array  # taken by the write of the same rows

    def write(self, arr: np.ndarray, indexes: int | Sequence[int] | None = None, window: Any = None) -> None:
        h, w = arr.shape[1:]
        self._rows(window, h, w)
        mask, self._next_mask = self._next_mask, None
        done = 0
        while done < h:
            n = min(h - done, self.block - self.rows)
            self.rgb[:, self.rows : self.rows + n] = arr[:, done : done + n]
            if self.mask is not None and mask is not None:
                self.mask[self.rows : self.rows + n] = mask[done : done + n]
            self.rows += n
            done += n
            if self.rows == self.block or self.top + self.rows == self.height:
                self.flush()

    def flush(self) -> None:
        """Write the rows collected so far (a whole block row, or the raster's last rows)."""
        from rasterio.windows import Window

        if not self.rows:
            return
        win = Window(0, self.top, self.width, self.rows)
        if self.mask is not None:
            self.out.write_mask(self.mask[: self.rows], window=win)
            self.mask[:] = 255
        self.out.write(self.rgb[:, : self.rows], window=win)
        self.top += self.rows
        self.rows = 0

    def update_tags(self, **tags: str) -> None:
        self.out.update_tags(**tags)

    def set_band_description(self, bidx: int, value: str) -> None:
        self.out.set_band_description(bidx, value)

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
