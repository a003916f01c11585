"""The pure parts of the cluster package: windows on the tile grid, scheduler addresses, chunking, limiter names."""

from __future__ import annotations

import pytest

from geocolor.cluster.harvest import chunk_size
from geocolor.cluster.ratelimit import limiter_name
from geocolor.cluster.scheduler import SchedulerSpec, local_layout, parse_scheduler
from geocolor.cluster.split import engine_band_tiles, needs_split, split_raster
from geocolor.errors import ConfigError
from geocolor.mosaic.windows import TileGrid


@pytest.mark.parametrize("width,height,overlap,band_width,split", [(900, 900, 32, 448, 300), (5000, 3000, 32, 8192, 1024),
                                                                   (700, 2600, 64, 8192, 256), (3000, 500, 0, 1000, 400)])
def test_windows_partition_the_raster_and_hold_every_tile_reaching_their_pixels(width, height, overlap, band_width, split):
    tile = 256
    grid = TileGrid(width, height, tile, overlap)
    regions = split_raster(width, height, tile, overlap, band_width, split)
    assert sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in (r.box for r in regions)) == width * height
    assert {r.cols for r in regions} == set(grid.bands(engine_band_tiles(band_width, grid.stride)))  # the engine's own bands
    for r in regions:
        x0, y0, x1, y1 = r.box
        for y in (y0, y1 - 1):  # every tile row covering the window's first and last rows is inside its block
            rows = [j for j in range(grid.ny) if grid.origin(j) <= y < grid.origin(j) + tile]
            assert all(r.rows.c0 <= j <= r.rows.c1 for j in rows), (r, y, rows)
        for x in (x0, x1 - 1):
            cols = [i for i in range(grid.nx) if grid.origin(i) <= x < grid.origin(i) + tile]
            assert all(r.cols.c0 <= i <= r.cols.c1 for i in cols), (r, x, cols)
    boxes = sorted(r.box for r in regions)
    assert len(set(boxes)) == len(boxes)


def test_row_blocks_match_the_column_bands_turned_on_their_side():
    wide, tall = TileGrid(3000, 100, 256, 48), TileGrid(100, 3000, 256, 48)
    assert tall.row_blocks(4) == wide.bands(4)


def test_small_rasters_are_not_split():
    assert not needs_split(8192, 8192, 8192) and needs_split(8193, 8192, 8192) and not needs_split(10**6, 10**6, 0)


@pytest.mark.parametrize("text,spec", [("local", SchedulerSpec(None)), ("local:3", SchedulerSpec(None, 3)),
                                       ("tcp://10.0.0.5:8786", SchedulerSpec("tcp://10.0.0.5:8786")),
                                       ("node7:8786", SchedulerSpec("tcp://node7:8786")), (" tls://h:1/ ", SchedulerSpec("tls://h:1"))])
def test_scheduler_addresses(text, spec):
    assert parse_scheduler(text) == spec


@pytest.mark.parametrize("text", ["local:0", "local:x", "nowhere", "", "local:99999"])
def test_bad_scheduler_is_one_line(text):
    with pytest.raises(ConfigError, match="--scheduler"):
        parse_scheduler(text)


def test_local_workers_share_the_cores():
    assert local_layout(None, 8) == (8, 1)
    assert local_layout(2, 8) == (2, 4)
    assert local_layout(4, 2) == (4, 1)  # more workers than cores: one thread each


def test_chunks_are_small_enough_for_every_slot():
    assert chunk_size(1000, 2) == 125 and chunk_size(10, 4) == 1 and chunk_size(10**6, 4) == 256 and chunk_size(0, 1) == 1


def test_one_rate_limit_per_server():
    assert limiter_name("http://Host:80/a?b") == limiter_name("http://host/c") != limiter_name("https://host/c")
