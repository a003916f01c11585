"""Cutting one large raster into windows that workers colour apart (pure arithmetic, no I/O).

A window is one column band of the serial engine (``TileGrid.bands`` with the engine's own band
width, so every model call sees the same tiles in the same batches) times one block of tile rows
(``TileGrid.row_blocks``). Neighbouring windows share the tile rows or columns whose smooth blending
reaches into each other's pixels, and each window keeps only the pixels it finalises, so the joined
windows equal one serial pass pixel for pixel (``geocolor.mosaic.parts``). The shared tiles are
computed twice: about ``stride / window side`` extra work (3 % at the default 8192 px windows).
"""

from __future__ import annotations

from dataclasses import dataclass

from geocolor.mosaic.windows import Band, TileGrid

DEFAULT_SPLIT_SIZE = 8192  # px: rasters of more than this squared pixels are split into windows of about this squared


@dataclass(frozen=True)
class Region:
    """One window: a column band and a block of tile rows, each with the pixels it finalises."""

    cols: Band
    rows: Band

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1): the output pixels this window writes."""
        return self.cols.x0, self.rows.x0, self.cols.x1, self.rows.x1

    @property
    def name(self) -> str:
        x0, y0, x1, y1 = self.box
        return f"y{y0}-{y1}_x{x0}-{x1}"

    @property
    def tiles(self) -> int:
        return (self.cols.c1 - self.cols.c0 + 1) * (self.rows.c1 - self.rows.c0 + 1)


def needs_split(width: int, height: int, split_size: int) -> bool:
    """Whether a ``width`` x ``height`` raster is coloured in windows (more than ``split_size`` squared pixels)."""
    return split_size > 0 and width * height > split_size * split_size


def engine_band_tiles(band_width: int, stride: int) -> int:
    """Tile columns per band of the serial engine (``MosaicOptions.band_width``)."""
    return max(1, band_width // stride)


def split_raster(width: int, height: int, tile: int, overlap: int, band_width: int, split_size: int) -> list[Region]:
    """The windows of a ``width`` x ``height`` raster on its tile grid (see module docstring).

    Each window holds about ``split_size`` squared pixels: the band's width times a block of tile rows.
    The windows' boxes partition the raster; listed band by band, top to bottom.
    """
    grid = TileGrid(width, height, tile, overlap)
    regions: list[Region] = []
    for band in grid.bands(engine_band_tiles(band_width, grid.stride)):
        rows_px = max(1, split_size * split_size // max(1, band.x1 - band.x0))
        block = max(1, round(rows_px / grid.stride))
        regions.extend(Region(band, rows) for rows in grid.row_blocks(block) if rows.x1 > rows.x0 and band.x1 > band.x0)
    return regions
