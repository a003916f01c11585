import numpy as np
import pytest

from geocolor.mosaic.windows import TileGrid, blend_window, ramp


@pytest.mark.parametrize("size,tile,overlap,expected", [(100, 256, 32, 1), (256, 256, 32, 1), (257, 256, 32, 2), (480, 256, 32, 2), (481, 256, 32, 3)])
def test_tile_count_covers_the_axis(size, tile, overlap, expected):
    g = TileGrid(size, size, tile, overlap)
    assert g.nx == expected
    assert g.origin(g.nx - 1) + tile >= size


@pytest.mark.parametrize("overlap", [0, 16, 32, 64, 128])
def test_ramps_sum_to_one_where_tiles_overlap(overlap):
    size, tile = 2000, 256
    g = TileGrid(size, 10, tile, overlap)
    total = np.zeros(g.origin(g.nx - 1) + tile)
    for i in range(g.nx):
        total[g.origin(i) : g.origin(i) + tile] += ramp(tile, overlap)
    inner = total[overlap : size - overlap]
    np.testing.assert_allclose(inner, 1.0, atol=1e-6)
    assert total.min() > 0


def test_blend_window_is_separable_and_positive():
    w = blend_window(64, 16)
    assert w.shape == (64, 64) and w.min() > 0 and w.max() == pytest.approx(1.0)
    np.testing.assert_allclose(w, np.outer(w[32], w[:, 32]), atol=1e-6)


@pytest.mark.parametrize("width,band_tiles,overlap", [(5000, 4, 32), (5000, 3, 128), (3000, 2, 100), (700, 8, 32), (4000, 5, 0)])
def test_bands_partition_columns_and_cover_every_tile_touching_them(width, band_tiles, overlap):
    g = TileGrid(width, 100, 256, overlap)
    bands = g.bands(band_tiles)
    assert bands[0].x0 == 0 and bands[-1].x1 == width
    for a, b in zip(bands, bands[1:]):
        assert a.x1 == b.x0
    for band in bands:
        for x in range(band.x0, band.x1):
            covering = [i for i in range(g.nx) if g.origin(i) <= x < g.origin(i) + 256]
            assert all(band.c0 <= i <= band.c1 for i in covering), (band, x, covering)


def test_final_rows_partition_the_height():
    g = TileGrid(100, 1000, 256, 48)
    spans = [g.final_rows(j) for j in range(g.ny)]
    assert spans[0][0] == 0 and spans[-1][1] == 1000
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
