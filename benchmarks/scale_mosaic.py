"""Cluster scaling of ``mosaic``: the same archive coloured by 1, 2 and 4 local Dask workers.

    python benchmarks/scale_mosaic.py [--workers 1,2,4] [--rasters 8] [--size 512] [--rounds 2] [--threads 1]

Builds an archive of RASTERS uint8 gray GeoTIFFs of SIZE x SIZE pixels cut from real imagery (the NAIP
scene of ../shared/data, as L*). Starts one LocalCluster per worker count (THREADS torch threads and one
task slot per worker), loads the model on every worker once (untimed), then times
``geocolor.cluster.colorize_archive`` over the archive, interleaving the worker counts round by round
so a machine that is busy for a while hurts them alike. Prints, per worker count, the median
throughput (megapixels/s) and the efficiency: throughput / (workers x one worker's throughput).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geocolor.color import lightness_to_gray, rgb_to_lab  # noqa: E402

NAIP = Path(__file__).resolve().parent.parent.parent / "shared/data/naip/m_4709963_se_14_1_20200831.tif"


def make_archive(folder: Path, n: int, size: int) -> list[Path]:
    """``n`` gray rasters of ``size`` px cut at different offsets of the NAIP scene (mirrored where it is too small)."""
    with rasterio.open(NAIP) as src:
        rgb = src.read([1, 2, 3]).astype(np.float32) / 255
        crs, transform = src.crs, src.transform
    gray = np.round(lightness_to_gray(rgb_to_lab(np.moveaxis(rgb, 0, -1))[..., 0]) * 255).astype(np.uint8)
    big = np.block([[gray, gray[:, ::-1]], [gray[::-1], gray[::-1, ::-1]]])
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        y, x = (int(rng.integers(0, big.shape[k] - size)) for k in (0, 1))
        path = folder / f"sheet{i:03d}.tif"
        with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="uint8", tiled=True,
                           crs=crs, transform=rasterio.windows.transform(Window(x, y, size, size), transform)) as dst:
            dst.write(big[y : y + size, x : x + size][None])
        paths.append(path)
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--rasters", type=int, default=8)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    ap.add_argument("--model", default=None)
    args = ap.parse_args()

    from geocolor.cluster import archive_pairs, colorize_archive, connect
    from geocolor.cluster.scheduler import SchedulerSpec
    from geocolor.cluster.tasks import translator_for
    from geocolor.mosaic.engine import MosaicOptions

    counts = [int(w) for w in args.workers.split(",")]
    opts = MosaicOptions(model=args.model, device="cpu", threads=args.threads)
    megapixels = args.rasters * args.size * args.size / 1e6
    times: dict[int, list[float]] = {n: [] for n in counts}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        archive = make_archive(Path(tmp), args.rasters, args.size)
        clients = {}
        for n in counts:
            started = time.perf_counter()
            clients[n] = stack.enter_context(connect(SchedulerSpec(None, n), torch_threads=args.threads))
            clients[n].run(translator_for, opts)  # the model, loaded once per worker (not timed)
            print(f"{n} worker(s) up and loaded in {time.perf_counter() - started:.1f} s", flush=True)
        for r in range(args.rounds):
            for n in counts:
                out = Path(tmp) / f"out-{n}-{r}"
                started = time.perf_counter()
                result = colorize_archive(clients[n], archive_pairs(archive, out), opts, show_progress=False)
                seconds = time.perf_counter() - started
                assert len(result.made) == args.rasters
                times[n].append(seconds)
                print(f"round {r + 1}: {n} worker(s) {seconds:.2f} s ({megapixels / seconds:.3f} MP/s)", flush=True)
    base = megapixels / statistics.median(times[counts[0]]) / counts[0]
    print(f"\narchive: {args.rasters} x {args.size}^2 px ({megapixels:.2f} MP), {args.threads} torch thread(s) per worker, "
          f"median of {args.rounds} interleaved rounds")
    print("workers  MP/s    efficiency")
    for n in counts:
        mps = megapixels / statistics.median(times[n])
        print(f"{n:7d}  {mps:6.3f}  {mps / (n * base):.2f}")


if __name__ == "__main__":
    main()
