"""Bare forward speed of each engine side by side: torch fp32, torch bf16 + channels-last, onnxruntime.

    python benchmarks/engines.py [--rounds 3] [--tiles 32] [--batch 8] [--threads N] [--model PATH]

All three run the same real L* tiles (the NAIP scene of ../shared/data) in one process, interleaved
round by round so that a machine's changing load hits each engine alike; the table gives each
engine's median over the rounds, in megapixels per second and ms per 256 x 256 tile. bf16 is skipped
where the CPU has no bf16 units (it would be emulated); on a CUDA machine pass --device cuda.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NAIP = Path(__file__).resolve().parent.parent.parent / "shared/data/naip/m_4709963_se_14_1_20200831.tif"


def real_tiles(n: int, tile: int = 256) -> np.ndarray:
    import rasterio

    from geocolor.color import rgb_to_lab

    with rasterio.open(NAIP) as src:
        rgb = src.read([1, 2, 3]).astype(np.float32) / 255
    lum = rgb_to_lab(np.moveaxis(rgb, 0, -1))[..., 0]
    rows, cols = lum.shape[0] // tile, lum.shape[1] // tile
    tiles = [lum[(i // cols) % rows * tile :][:tile, (i % cols) * tile :][:, :tile] for i in range(n)]
    return np.stack(tiles)[:, None].astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tiles", type=int, default=32, help="tiles per engine per round")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    import torch

    from geocolor.models.engines import check_threads, load_colorizer
    from geocolor.models.precision import native_bf16

    threads = check_threads(args.threads)
    engines = {"torch fp32": load_colorizer(args.model, args.device, "torch", "fp32", threads)}
    reduced = "fp16" if args.device == "cuda" else "bf16"
    if args.device == "cuda" or native_bf16(torch.device("cpu")):
        engines[f"torch {reduced}+channels_last"] = load_colorizer(args.model, args.device, "torch", reduced, threads)
    engines["onnxruntime fp32"] = load_colorizer(args.model, args.device, "onnx", "auto", threads)
    tiles = real_tiles(args.batch)
    times: dict[str, list[float]] = {name: [] for name in engines}
    for model in engines.values():
        model.predict_array(tiles)  # warm-up
    for _ in range(args.rounds):
        for name, model in engines.items():
            start = time.perf_counter()
            for _ in range(max(1, args.tiles // args.batch)):
                model.predict_array(tiles)
            times[name].append((time.perf_counter() - start) / (max(1, args.tiles // args.batch) * args.batch))
    print(f"forward, {args.device}, {threads} threads, batch {args.batch}, {args.rounds} interleaved rounds of {args.tiles} tiles")
    print(f"{'engine':28s} {'ms/tile':>8s} {'MP/s':>6s} {'vs fp32':>8s}")
    base = statistics.median(times["torch fp32"])
    for name, values in times.items():
        per_tile = statistics.median(values)
        print(f"{name:28s} {per_tile * 1e3:8.1f} {256 * 256 / 1e6 / per_tile:6.2f} {base / per_tile:7.2f}x")


if __name__ == "__main__":
    main()
