"""Mosaic throughput vs the bare model forward on the same tiles, for each engine.

    python benchmarks/mosaic_throughput.py [--size 4096] [--engines torch,onnx] [--model PATH] [--device auto]
                                           [--threads N] [--precision auto] [--strict-cog]

Builds a SIZE x SIZE uint8 gray GeoTIFF from real imagery (the NAIP scene of ../shared/data, as L*,
mirrored to fill the size). Then, for each engine, in a fresh process (so peak RSS is that engine's):
- bare forward MP/s: ``predict_array`` over as many real L* tiles as the mosaic predicts, no I/O: the ceiling;
- mosaic MP/s: ``geocolor.mosaic.colorize`` end to end (read, tile, predict, blend, colour, write, overviews);
- their ratio (target >= 0.85) and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geocolor.color import lightness_to_gray, rgb_to_lab  # noqa: E402

NAIP = Path(__file__).resolve().parent.parent.parent / "shared/data/naip/m_4709963_se_14_1_20200831.tif"
OLD_MOSAIC_MPS = 1.62  # before engines, precision and direct writing (2-core CPU, 4096^2, torch fp32)


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


def real_tiles(src: Path, tile: int, batch: int) -> np.ndarray:
    """``batch`` real L* tiles from the input."""
    from geocolor.raster import open_raster, plan_input, to_lightness

    with open_raster(src) as ds:
        plan = plan_input(ds)
        tiles = [to_lightness(ds.read([1], window=Window(i * tile, i * tile, tile, tile)), plan) for i in range(batch)]
    return np.stack(tiles)[:, None].astype(np.float32)


def time_forward(colorizer, tiles: np.ndarray, n_tiles: int) -> float:
    colorizer.predict_array(tiles)  # warm-up
    start = time.perf_counter()
    done = 0
    while done < n_tiles:
        n = min(len(tiles), n_tiles - done)
        colorizer.predict_array(tiles[:n])
        done += n
    return time.perf_counter() - start


def one_engine(args: argparse.Namespace) -> None:
    """Child process: measure one engine on ``args.src`` and print one JSON line."""
    from geocolor.models.engines import load_colorizer
    from geocolor.mosaic.engine import colorize
    from geocolor.mosaic.windows import TileGrid

    colorizer = load_colorizer(args.model, args.device, args.engine, args.precision, args.threads)
    tile = colorizer.tile_size
    src = Path(args.src)
    grid = TileGrid(args.size, args.size, tile, args.overlap)
    forward_s = time_forward(colorizer, real_tiles(src, tile, args.batch), grid.n_tiles)
    start = time.perf_counter()
    colorize(src, src.with_name(f"out_{args.engine}.tif"), translator=colorizer, batch=args.batch, overlap=args.overlap,
             strict_cog=args.strict_cog, show_progress=False, overwrite=True)
    mosaic_s = time.perf_counter() - start
    print(json.dumps({"engine": args.engine, "detail": getattr(colorizer, "precision", "fp32"), "tiles": grid.n_tiles,
                      "forward_s": forward_s, "mosaic_s": mosaic_s, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--engines", default="torch,onnx")
    ap.add_argument("--model", default=None)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--overlap", type=int, default=32)
    ap.add_argument("--strict-cog", action="store_true")
    ap.add_argument("--engine", help=argparse.SUPPRESS)
    ap.add_argument("--src", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.engine:
        one_engine(args)
        return
    from geocolor.models.engines import check_threads

    mp = args.size**2 / 1e6
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.tif"
        make_input(src, args.size)
        for engine in args.engines.split(","):
            cmd = [sys.executable, __file__, "--engine", engine, "--src", str(src), "--size", str(args.size), "--device", args.device,
                   "--precision", args.precision, "--batch", str(args.batch), "--overlap", str(args.overlap)]
            cmd += ["--model", args.model] if args.model else []
            cmd += ["--threads", str(args.threads)] if args.threads else []
            cmd += ["--strict-cog"] if args.strict_cog else []
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
    print(f"raster {args.size} x {args.size} ({mp:.1f} MP), {rows[0]['tiles']} tiles of 256, overlap {args.overlap}, batch {args.batch}, "
          f"threads {args.threads or check_threads(None)}, {'strict COG' if args.strict_cog else 'tiled GeoTIFF + internal overviews'}")
    print(f"{'engine':18s} {'forward MP/s':>12s} {'mosaic MP/s':>11s} {'ratio':>6s} {'vs old':>7s} {'peak RSS':>9s}")
    for r in rows:
        print(f"{r['engine'] + ' ' + r['detail']:18s} {mp / r['forward_s']:12.2f} {mp / r['mosaic_s']:11.2f} "
              f"{r['forward_s'] / r['mosaic_s']:6.2f} {mp / r['mosaic_s'] / OLD_MOSAIC_MPS:6.2f}x {r['rss_mb']:7.0f} MB")


if __name__ == "__main__":
    main()
