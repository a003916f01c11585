"""Mosaic throughput vs the bare model on the same tiles, in the same run.

    python benchmarks/mosaic_throughput.py [--size 4096] [--model PATH] [--device auto]

Builds a SIZE x SIZE uint8 gray GeoTIFF from real imagery (the NAIP scene of ../shared/data, as L*,
mirrored to fill the size), then prints:
- mosaic MP/s: ``geocolor.mosaic.colorize`` end to end (read, tile, predict, blend, write COG);
- model MP/s: the bare ``predict_chroma`` forward over the same number of tiles, no I/O: the ceiling;
- their ratio (target >= 0.85), the same with ``cog=False``, and the peak RSS of this process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import torch
from rasterio.windows import Window

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geocolor.color import lightness_to_gray, rgb_to_lab  # noqa: E402
from geocolor.models import load  # noqa: E402
from geocolor.mosaic.engine import colorize  # noqa: E402
from geocolor.mosaic.windows import TileGrid  # noqa: E402

NAIP = Path(__file__).resolve().parent.parent.parent / "shared/data/naip/m_4709963_se_14_1_20200831.tif"


def make_input(path: Path, size: int) -> None:
    with rasterio.open(NAIP) as src:
        rgb = src.read([1, 2, 3]).astype(np.float32) / 255
    gray = np.round(lightness_to_gray(rgb_to_lab(np.moveaxis(rgb, 0, -1))[..., 0]) * 255).astype(np.uint8)
    tile = np.block([[gray, gray[:, ::-1]], [gray[::-1], gray[::-1, ::-1]]])
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="uint8", tiled=True,
                       compress="deflate", crs="EPSG:26914", transform=rasterio.transform.from_origin(500000, 5300000, 1, 1)) as dst:
        for y in range(0, size, 1024):
            for x in range(0, size, 1024):
                h, w = min(1024, size - y), min(1024, size - x)
                ty, tx = y % (tile.shape[0] - 1024), x % (tile.shape[1] - 1024)
                dst.write(tile[ty : ty + h, tx : tx + w][None], window=Window(x, y, w, h))


def time_forward(translator, n_tiles: int, tile: int, batch: int) -> float:
    x = torch.rand(batch, 1, tile, tile) * 100
    translator.predict_chroma(x)  # warm-up
    start = time.perf_counter()
    done = 0
    while done < n_tiles:
        n = min(batch, n_tiles - done)
        translator.predict_chroma(x[:n])
        done += n
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--model", default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--overlap", type=int, default=32)
    args = ap.parse_args()
    translator = load(args.model, device=args.device)
    tile = translator.tile_size
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.tif"
        make_input(src, args.size)
        grid = TileGrid(args.size, args.size, tile, args.overlap)
        mp = args.size**2 / 1e6
        forward_s = time_forward(translator, grid.n_tiles, tile, args.batch)
        rows = []
        for cog in (True, False):
            start = time.perf_counter()
            colorize(src, Path(tmp) / f"out_{cog}.tif", translator=translator, batch=args.batch, overlap=args.overlap,
                     cog=cog, show_progress=False, overwrite=True)
            rows.append((cog, time.perf_counter() - start))
    print(f"raster {args.size} x {args.size} ({mp:.1f} MP), tile {tile}, overlap {args.overlap}, {grid.n_tiles} tiles, "
          f"device {translator.device}, torch threads {torch.get_num_threads()}")
    print(f"{'what':34s} {'seconds':>8s} {'MP/s':>7s} {'ratio':>6s}")
    print(f"{'bare model forward (baseline)':34s} {forward_s:8.2f} {mp / forward_s:7.2f} {1.0:6.2f}")
    for cog, seconds in rows:
        name = "mosaic, COG output" if cog else "mosaic, tiled GeoTIFF (--no-cog)"
        print(f"{name:34s} {seconds:8.2f} {mp / seconds:7.2f} {forward_s / seconds:6.2f}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
