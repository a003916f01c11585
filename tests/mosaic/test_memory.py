"""Peak memory of a mosaic run does not grow with the raster's size (2k x 2k vs 6k x 6k).

Both runs use the same column-band width, which is what bounds the working set.
"""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from tests.conftest import peak_rss_mb

SCRIPT = """
import resource, sys
from geocolor.mosaic.engine import colorize
colorize(sys.argv[1], sys.argv[2], model=sys.argv[3], show_progress=False, cog=False, compress="lzw", band_width=1024)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_raster(path, size: int) -> None:
    rng = np.random.default_rng(size)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="uint8", tiled=True,
                       crs="EPSG:32631", transform=rasterio.transform.from_origin(600000, 5700000, 1, 1)) as d:
        block = (rng.random((1, 1024, 1024)) * 60 + 90).astype(np.uint8)
        for y in range(0, size, 1024):
            for x in range(0, size, 1024):
                d.write(block, window=Window(x, y, 1024, 1024))


@pytest.mark.slow
def test_peak_memory_independent_of_raster_size(tiny_model, tmp_path):
    rss = {}
    for size in (2048, 6144):
        make_raster(tmp_path / f"in{size}.tif", size)
        rss[size] = peak_rss_mb(SCRIPT, tmp_path / f"in{size}.tif", tmp_path / f"out{size}.tif", tiny_model)
    # 9x the pixels: holding the 8-bit output alone in memory would add 100 MB, a float
    # accumulator for the whole raster 400 MB; GDAL's block cache is capped at 64 MB.
    assert rss[6144] - rss[2048] < 64, rss
