"""Peak memory of a mosaic run does not grow with the raster's size (4x the pixels).

Both runs use the same column-band width, which is what bounds the working set, and the same GDAL
block cache cap (``gdal_cache_mb``): the cache fills up to its cap with blocks of the output, so with
the default 64 MB it alone grows by 64 MB between a small and a large raster. An 8 MB cap keeps the
cache out of the comparison.
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
colorize(sys.argv[1], sys.argv[2], model=sys.argv[3], show_progress=False, cog=False, compress="lzw", band_width=int(sys.argv[4]), gdal_cache_mb=8)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def make_raster(path, width: int, height: int) -> None:
    rng = np.random.default_rng(width)
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1, dtype="uint8", tiled=True,
                       crs="EPSG:32631", transform=rasterio.transform.from_origin(600000, 5700000, 1, 1)) as d:
        block = (rng.random((1, 512, 512)) * 60 + 90).astype(np.uint8)
        for y in range(0, height, 512):
            for x in range(0, width, 512):
                d.write(block, window=Window(x, y, 512, 512))


@pytest.mark.slow
@pytest.mark.parametrize(("band_width", "small", "large"), [(8192, (2048, 1024), (2048, 4096)), (1024, (1536, 1536), (3072, 3072))],
                         ids=["direct", "column-bands"])
def test_peak_memory_independent_of_raster_size(tiny_model, tmp_path, band_width, small, large):
    """Both output paths of ``geocolor.mosaic.writer``: one column band written straight into the final file
    (its working set is one strip of the raster's width, so only the height grows here), and column bands
    of ``band_width`` through the uncompressed temp file (width and height grow)."""
    rss = []
    for width, height in (small, large):
        src = tmp_path / f"in{width}x{height}.tif"
        make_raster(src, width, height)
        rss.append(peak_rss_mb(SCRIPT, src, tmp_path / f"out{width}x{height}.tif", tiny_model, band_width))
    # 4x the pixels: holding the 8-bit output alone in memory would add 18-20 MB, a float
    # accumulator for the whole raster 75-85 MB; the cache adds at most its 8 MB cap.
    assert rss[1] - rss[0] < 12, rss
