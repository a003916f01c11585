"""Regenerate ``naip_aoi.shp``: a concave AOI polygon drawn inside the footprint of the shared NAIP tile.

The footprint is that of ``../shared/data/naip/m_4709963_se_14_1_20200831.tif`` (NAIP quarter-quad
m_4709963_se_14, North Dakota; US public domain), EPSG:26914. The AOI is an L-shaped polygon with one
slanted edge whose vertices sit at fixed fractions of that footprint, so it covers the central lake,
fields and roads and leaves out the footprint's north-east: its bounding box holds tiles the polygon
does not touch. Run: ``python sample_shapefiles/make_naip_aoi.py [path/to/naip.tif]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SRC = HERE.parent.parent / "shared" / "data" / "naip" / "m_4709963_se_14_1_20200831.tif"
# (x, y) fractions of the footprint, from its south-west corner, counter-clockwise.
FRACTIONS = [(0.20, 0.15), (0.80, 0.15), (0.80, 0.38), (0.45, 0.38), (0.40, 0.85), (0.20, 0.85)]


def main(src: Path = DEFAULT_SRC) -> Path:
    import numpy as np
    import pyogrio.raw
    import rasterio
    import shapely

    with rasterio.open(src) as ds:
        left, bottom, right, top = ds.bounds
        wkt = ds.crs.to_wkt()
    ring = [(round(left + fx * (right - left)), round(bottom + fy * (top - bottom))) for fx, fy in FRACTIONS]
    poly = shapely.Polygon(ring)
    out = HERE / "naip_aoi.shp"
    pyogrio.raw.write(out, shapely.to_wkb(np.array([poly])), [np.array(["naip_aoi"], dtype=object)], ["name"],
                      driver="ESRI Shapefile", geometry_type="Polygon", crs=wkt)
    return out


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SRC))
