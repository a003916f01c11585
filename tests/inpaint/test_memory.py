"""Peak memory of an inpaint run does not grow with the raster's size (2k x 2k vs 6k x 6k, holes everywhere)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from tests.conftest import peak_rss_mb

SCRIPT = """
import resource, sys, torch
torch.set_num_threads(1)
from geocolor.inpaint import inpaint
r = inpaint(sys.argv[1], sys.argv[2], model=sys.argv[3], device="cpu", show_progress=False, cog=False)
assert r.unfilled_pixels == 0 and r.filled_pixels == r.hole_pixels > 0
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_raster(path, size: int) -> None:
    """Textured uint8 with nodata 0 and a 12 x 12 hole every 512 px."""
    rng = np.random.default_rng(size)
    block = (rng.random((1, 1024, 1024)) * 60 + 90).astype(np.uint8)
    block[0, 200:212, 300:312] = 0
    block[0, 712:724, 812:824] = 0
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="uint8", tiled=True, nodata=0,
                       crs="EPSG:32631", transform=rasterio.transform.from_origin(600000, 5700000, 1, 1)) as d:
        for y in range(0, size, 1024):
            for x in range(0, size, 1024):
                d.write(block, window=Window(x, y, 1024, 1024))


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_raster_size(tmp_path, tiny_inpaint_model):
    small, big = tmp_path / "small.tif", tmp_path / "big.tif"
    make_raster(small, 2048)
    make_raster(big, 6144)  # 9x the pixels (36 MB of uint8): a whole-raster array would show
    rss_small = peak_rss_mb(SCRIPT, small, tmp_path / "o1.tif", tiny_inpaint_model)
    rss_big = peak_rss_mb(SCRIPT, big, tmp_path / "o2.tif", tiny_inpaint_model)
    assert rss_big - rss_small < 25, (rss_small, rss_big)
