"""Limits that keep a harvest sane: the tile-count guard, the antimeridian, longitudes off the globe,
and tile matrix ids that would leave the harvest folder."""

from __future__ import annotations

import time

import numpy as np
import pytest

from geocolor.aoi import aoi_from_bbox
from geocolor.errors import InputError
from geocolor.harvest import HarvestConfig, plan
from geocolor.harvest.errors import HarvestError
from geocolor.harvest.grids import XyzGrid, estimate_tiles, select_tiles
from geocolor.harvest.store import safe_part

XYZ = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # never contacted: planning an XYZ source fetches nothing


def test_a_huge_harvest_is_refused_at_once_with_the_zoom_that_fits(tmp_path):
    config = HarvestConfig(out=tmp_path / "out", aoi=aoi_from_bbox("0,0,1.1,1.1"), zoom="20", xyz=XYZ)
    start = time.monotonic()
    with pytest.raises(HarvestError, match=r"about \d+ tiles at zoom 20 is more than --max-tiles 100000; zoom 1[0-9] would fit"):
        plan(config)
    assert time.monotonic() - start < 5  # counted from the bounds, not by listing ten million tiles
    small = HarvestConfig(out=tmp_path / "out", aoi=aoi_from_bbox("0,0,1.1,1.1"), zoom="12", xyz=XYZ, max_tiles=50)
    with pytest.raises(HarvestError, match="more than --max-tiles 50"):
        plan(small)
    assert len(plan(HarvestConfig(out=tmp_path / "o", aoi=aoi_from_bbox("0,0,1.1,1.1"), zoom="12", xyz=XYZ, max_tiles=0)).tiles) > 50


def test_a_box_across_the_antimeridian_is_two_small_boxes_not_a_world_strip():
    aoi = aoi_from_bbox("179.99,-16.01,-179.99,-15.99")
    assert len(aoi.geometry.geoms) == 2
    grid = XyzGrid(12)
    tiles = select_tiles(grid, aoi)
    assert 2 <= len(tiles) <= 8 and {t.col for t in tiles} <= {0, 1, 4094, 4095}
    assert estimate_tiles(grid, aoi) < 20


@pytest.mark.parametrize("bbox", ["400,0,401,1", "-181,0,-179,1", "0,-91,1,1"])
def test_coordinates_off_the_globe_are_refused(bbox):
    with pytest.raises(InputError, match="outside the globe"):
        aoi_from_bbox(bbox)


def test_projected_boxes_keep_their_order_rule():
    with pytest.raises(InputError, match="is empty"):
        aoi_from_bbox("500000,0,400000,10", "EPSG:32631")


@pytest.mark.parametrize("ident, expected", [("..", "__"), (".", "_"), ("../../etc", ".._.._etc"), ("EPSG:3857:16", "EPSG_3857_16"),
                                             ("a/b", "a_b"), ("", "_")])
def test_tile_matrix_ids_stay_one_path_component(ident, expected):
    part = safe_part(ident)
    assert part == expected and "/" not in part and part not in (".", "..")


@pytest.mark.parametrize("kind, url, message", [
    ("url", "http://[bad", "is not a valid URL"),
    ("xyz", "http://[bad/{z}/{x}/{y}.png", "is not a valid URL"),
    ("url", "ftp://host/caps.xml", "must be an http:// or https:// URL"),
    ("url", "http://127.0.0.1:99999/x", "Port out of range"),
])
def test_bad_urls_are_one_line(tmp_path, kind, url, message):
    from geocolor.errors import ConfigError

    extra = {"url": url, "layer": "x"} if kind == "url" else {"xyz": url}
    with pytest.raises(ConfigError, match=message):
        HarvestConfig(out=tmp_path / "o", aoi=aoi_from_bbox("0,0,0.01,0.01"), zoom="10", **extra)


def test_a_sparse_giant_tiff_tile_is_refused_before_decoding():
    from rasterio.io import MemoryFile

    from geocolor.harvest.tiles import TileDecodeError, decode_image

    with MemoryFile() as mem:
        with mem.open(driver="GTiff", width=60000, height=60000, count=3, dtype="uint8", tiled=True, SPARSE_OK=True) as ds:
            ds.write_band(1, np.zeros((1, 1), np.uint8), window=((0, 1), (0, 1)))
        content = mem.read()
    assert len(content) < 2_000_000  # a few bytes on the wire, 10 GB once decoded
    with pytest.raises(TileDecodeError, match="60000 x 60000"):
        decode_image(content)
