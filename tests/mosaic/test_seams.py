"""Blending: with overlap, chroma changes across tile borders no more than inside tiles.

Measured on a real aerial image with the shipped model. The overlap-0 run shows that the measure
does see seams when there is no blending, so the test can fail.
"""

from __future__ import annotations

import numpy as np
import rasterio
from skimage.color import rgb2lab

from geocolor.mosaic.engine import colorize


def border_vs_interior(path, tile: int, overlap: int) -> float:
    with rasterio.open(path) as o:
        ab = rgb2lab(np.moveaxis(o.read(), 0, -1) / 255.0)[..., 1:]
    jump_x = np.abs(np.diff(ab, axis=1)).sum(-1).mean(axis=0)  # column k: between x=k and x=k+1
    stride = tile - overlap
    edges = set()
    for start in range(stride, ab.shape[1], stride):
        edges.update({start - 1, start + overlap - 1})
    edges = sorted(e for e in edges if 0 <= e < len(jump_x))
    interior = np.array([k for k in range(len(jump_x)) if all(abs(k - e) > 3 for e in edges)])
    return float(jump_x[edges].mean() / jump_x[interior].mean())


def test_overlap_hides_seams_and_no_overlap_shows_them(gray_uint8_twd97, default_model, tmp_path):
    ratios = {}
    for overlap in (0, 64):
        out = tmp_path / f"o{overlap}.tif"
        colorize(gray_uint8_twd97, out, model=default_model, tile=256, overlap=overlap, show_progress=False)
        ratios[overlap] = border_vs_interior(out, 256, overlap)
    assert ratios[64] <= 1.05, ratios
    assert ratios[0] > ratios[64] * 1.2, ratios
