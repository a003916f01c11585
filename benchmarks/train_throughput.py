"""Training throughput (images/s) of pix2pix and CycleGAN at 256², mixed precision vs float32, same run.

    python benchmarks/train_throughput.py [--steps 3] [--warmup 1] [--device auto] [--threads 0]

Times ``model.train_step`` (the full GAN step: generator forward, discriminator update, generator
update, as ``geocolor train`` runs it) on real 256 x 256 chips cut from the NAIP scene of
../shared/data, for:

- pix2pix unet_256, ngf 64, batch 1 and ngf 32, batch 4 (PatchGAN ndf 64);
- CycleGAN resnet_9blocks, ngf 64, batch 1 (two generators, two PatchGANs, instance norm, lsgan).

Each case runs in its own process (so its peak RSS is its own) with ``amp: off`` (float32, the
baseline, measured in the same run) and then ``bf16`` (CPU autocast, or CUDA); on CUDA also ``fp16``
(with a gradient scaler) and ``bf16`` + ``channels_last``. The ratio column is images/s over the
float32 figure of the same case.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geocolor.train.config import config_from_dict  # noqa: E402
from geocolor.train.models import MODELS  # noqa: E402
from geocolor.train.precision import to_layout  # noqa: E402
from geocolor.train.trainer import batch_to_tensors  # noqa: E402

NAIP = Path(__file__).resolve().parent.parent.parent / "shared/data/naip/m_4709963_se_14_1_20200831.tif"

CASES = {
    "pix2pix unet_256 ngf64 bs1": {"model": {"model": "pix2pix", "generator": "unet_256", "ngf": 64}, "batch": 1},
    "pix2pix unet_256 ngf32 bs4": {"model": {"model": "pix2pix", "generator": "unet_256", "ngf": 32}, "batch": 4},
    "cyclegan resnet_9blocks ngf64 bs1": {
        "model": {"model": "cyclegan", "generator": "resnet_9blocks", "ngf": 64, "norm": "instance", "dropout": False},
        "batch": 1,
        "loss": {"gan_mode": "lsgan", "lambda_identity": 0},
    },
}


def chips(n: int, tile: int = 256, seed: int = 0) -> np.ndarray:
    """``n`` random uint8 RGB chips from the NAIP scene."""
    import rasterio
    from rasterio.windows import Window

    rng = np.random.default_rng(seed)
    with rasterio.open(NAIP) as src:
        out = []
        for _ in range(n):
            y, x = (int(rng.integers(0, s - tile)) for s in (src.height, src.width))
            out.append(src.read([1, 2, 3], window=Window(x, y, tile, tile)).transpose(1, 2, 0))
    return np.stack(out)


def measure(case: str, amp: str, channels_last: bool, device: str, steps: int, warmup: int) -> dict[str, float]:
    """Images/s of ``steps`` timed train steps (after ``warmup``) of one case, in this process."""
    spec = CASES[case]
    cfg = config_from_dict({
        "data": {"tile": 256, "batch_size": spec["batch"], "sources": [{"path": str(NAIP)}]},
        "model": {"ndf": 64, **spec["model"]},
        "loss": spec.get("loss", {}),
        "optim": {"policy": "constant"},
        "performance": {"amp": amp, "channels_last": channels_last},
    })
    dev = torch.device(device)
    torch.manual_seed(0)
    model = MODELS[cfg.model.model](cfg, dev)
    batches = []
    for i in range(2):
        inp, target = batch_to_tensors(chips(spec["batch"], seed=i), dev, None, model.encoding)
        batches.append((to_layout(inp, cfg), to_layout(target, cfg)))
    for i in range(warmup):
        model.train_step(*batches[i % 2])
    if dev.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(steps):
        losses = model.train_step(*batches[i % 2])
    if dev.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "img_s": steps * spec["batch"] / seconds,
        "s_step": seconds / steps,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "gpu_mb": torch.cuda.max_memory_allocated(dev) / 2**20 if dev.type == "cuda" else 0.0,
        "finite": all(np.isfinite(v) for v in losses.values()),
    }


def variants(device: str) -> list[tuple[str, bool]]:
    if device.startswith("cuda"):
        return [("off", False), ("bf16", False), ("fp16", False), ("bf16", True)]
    return [("off", False), ("bf16", False)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: run one JSON job, print JSON
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if args.one:
        job = json.loads(args.one)
        print(json.dumps(measure(job["case"], job["amp"], job["channels_last"], device, args.steps, args.warmup)))
        return
    print(f"device {device}, torch {torch.__version__}, threads {args.threads or torch.get_num_threads()}, "
          f"{args.steps} timed steps after {args.warmup} warm-up, 256 x 256 NAIP chips")
    print(f"{'case':36s} {'amp':5s} {'layout':6s} {'s/step':>7s} {'img/s':>7s} {'ratio':>6s} {'RSS MB':>7s} {'GPU MB':>7s}")
    for case in args.cases.split(","):
        baseline = None
        for amp, cl in variants(device):
            job = json.dumps({"case": case, "amp": amp, "channels_last": cl})
            cmd = [sys.executable, __file__, "--one", job, "--steps", str(args.steps), "--warmup", str(args.warmup),
                   "--device", device, "--threads", str(args.threads)]
            r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
            baseline = baseline or r["img_s"]
            flag = "" if r["finite"] else "  (non-finite loss!)"
            print(f"{case:36s} {amp:5s} {'NHWC' if cl else 'NCHW':6s} {r['s_step']:7.2f} {r['img_s']:7.3f} "
                  f"{r['img_s'] / baseline:6.2f} {r['rss_mb']:7.0f} {r['gpu_mb']:7.0f}{flag}", flush=True)


if __name__ == "__main__":
    main()
