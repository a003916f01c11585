"""Pure geometry of tiled inference: the tile grid, column bands and the blending window.

Tiles of size ``T`` step by ``S = T - overlap`` along each axis, starting at 0; the last tile may run
past the raster edge (the reader pads it). Every output pixel is the weighted mean of the tiles
covering it, with a separable window that is flat in the middle and falls off smoothly (sin^2) over
the ``overlap`` pixels at each edge; two overlapping ramps sum to exactly 1, so blending neither
brightens nor darkens, and no seam shows.

To keep memory independent of the raster's width, tile columns are processed in *bands* of at most
``band_tiles`` columns. Neighbouring bands share ``ceil(overlap / S)`` tile columns, so every pixel of
a band's *final* column range is covered only by tiles inside that band and comes out exactly as it
would from one pass over the whole width. ``row_blocks`` splits the tile rows the same way, so a
raster can be coloured window by window (``geocolor.mosaic.parts``) with every pixel equal to one pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Band:
    """Tile columns ``c0..c1`` (inclusive) and the pixel columns ``[x0, x1)`` this band finalises."""

    c0: int
    c1: int
    x0: int
    x1: int


@dataclass(frozen=True)
class TileGrid:
    width: int
    height: int
    tile: int
    overlap: int

    def __post_init__(self) -> None:
        if self.tile <= 0 or not 0 <= self.overlap < self.tile:
            raise ValueError(f"need tile > 0 and 0 <= overlap < tile, got tile {self.tile}, overlap {self.overlap}")
        if self.width <= 0 or self.height <= 0:
            raise ValueError("raster must have a positive size")

    @property
    def stride(self) -> int:
        return self.tile - self.overlap

    def count(self, size: int) -> int:
        """Number of tiles along an axis of ``size`` pixels (the last one reaches or passes the edge)."""
        return 1 if size <= self.tile else math.ceil((size - self.tile) / self.stride) + 1

    @property
    def nx(self) -> int:
        return self.count(self.width)

    @property
    def ny(self) -> int:
        return self.count(self.height)

    @property
    def n_tiles(self) -> int:
        return self.nx * self.ny

    def origin(self, index: int) -> int:
        return index * self.stride

    def final_rows(self, j: int) -> tuple[int, int]:
        """Rows that are complete once tile rows ``0..j`` are done (and not before)."""
        start = j * self.stride
        end = self.height if j == self.ny - 1 else min(self.height, (j + 1) * self.stride)
        return min(start, self.height), end

    def bands(self, band_tiles: int) -> list[Band]:
        """Split the tile columns into bands of at most ``band_tiles`` columns (see module docstring)."""
        return blocks(self.nx, self.width, self.stride, self.overlap, band_tiles)

    def row_blocks(self, block_tiles: int) -> list[Band]:
        """The same split along the rows: blocks of at most ``block_tiles`` tile rows, ``c0..c1`` being
        tile rows and ``[x0, x1)`` the pixel rows a block finalises (a ``Band`` turned on its side)."""
        return blocks(self.ny, self.height, self.stride, self.overlap, block_tiles)


def blocks(n_tiles: int, size: int, stride: int, overlap: int, block_tiles: int) -> list[Band]:
    """Split ``n_tiles`` tiles along an axis of ``size`` pixels into runs of at most ``block_tiles``
    tiles; neighbouring runs share the tiles whose overlap reaches into the next run's final pixels."""
    shared = math.ceil(overlap / stride) if overlap else 0
    block_tiles = max(block_tiles, shared + 1)
    starts = [0]
    while starts[-1] + block_tiles < n_tiles:
        starts.append(starts[-1] + block_tiles - shared)
    out = []
    for k, c0 in enumerate(starts):
        last = k == len(starts) - 1
        c1 = n_tiles - 1 if last else c0 + block_tiles - 1
        x0 = 0 if k == 0 else c0 * stride + overlap
        x1 = size if last else starts[k + 1] * stride + overlap
        out.append(Band(c0, c1, min(x0, size), min(x1, size)))
    return out


def ramp(tile: int, overlap: int) -> np.ndarray:
    """1-D blending weights: sin^2 rise over ``overlap`` pixels, flat 1, mirrored fall. Never 0."""
    w = np.ones(tile, dtype=np.float32)
    if overlap:
        t = (np.arange(overlap, dtype=np.float64) + 0.5) / overlap
        rise = np.sin(np.pi / 2 * t) ** 2
        w[:overlap] = rise
        w[tile - overlap :] = rise[::-1]
    return w


def blend_window(tile: int, overlap: int) -> np.ndarray:
    """2-D separable blending window (tile x tile), float32."""
    w = ramp(tile, overlap)
    return np.outer(w, w).astype(np.float32)
