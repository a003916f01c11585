"""Evaluate inpainting models on held-out real aerial chips against scikit-image's biharmonic inpainting.

Usage (from the repository root):

    python pipelines/inpaint_eval.py [--runs runs] [--out pipelines/reports/inpaint] [--max-chips N]

Held-out chips are the fixed grid that ``geocolor train`` evaluates on, cut from the held-out parts of
the sources in ``pipelines/inpaint_default.yaml`` (right 30 % of the NAIP area, bottom 25 % of the
Yellowstone orthophoto), 256 x 256, as sRGB gray. Two mask sets, the same for every method:
``center64`` (the issue's target: a 64 x 64 hole in the middle) and ``damage`` (seeded random boxes,
strokes, scratches and dust). Methods: biharmonic (computed in this run), the shipped
``geocolor/weights/inpaint.pt`` and every ablation run ``RUNS/inpaint_<name>/best.pt`` that exists.
Writes ``results.json`` and ``results.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from geocolor.inpaint.evaluate import chips_to_images, evaluate_models, write_report  # noqa: E402
from geocolor.inpaint.masks import MaskSpec, center_box, make_masks  # noqa: E402
from geocolor.inpaint.model import DEFAULT_INPAINT_MODEL  # noqa: E402
from geocolor.train.config import DataConfig, load_config  # noqa: E402
from geocolor.train.data import ChipData  # noqa: E402

ABLATIONS = ("rec_only", "rec_adv", "rec_adv_tv", "plain_ae")


def held_out_chips(config: Path, tile: int = 256) -> list[np.ndarray]:
    cfg = load_config(config)
    sources = [s for s in cfg.data.sources if s.holdout != "none"]
    data = ChipData(DataConfig(sources=sources, tile=tile, batch_size=1, gap=cfg.data.gap, augment=False))
    return data.test_chips


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs", help="folder holding the ablation runs inpaint_<name>/")
    ap.add_argument("--out", default=str(REPO / "pipelines" / "reports" / "inpaint"))
    ap.add_argument("--config", default=str(REPO / "pipelines" / "inpaint_default.yaml"))
    ap.add_argument("--max-chips", type=int, default=0, help="use at most N chips (evenly picked); 0: all")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    import torch

    torch.set_num_threads(1)  # shared CPUs: one thread avoids spin-waiting
    chips = held_out_chips(Path(args.config))
    if args.max_chips and len(chips) > args.max_chips:
        chips = chips[:: len(chips) // args.max_chips][: args.max_chips]
    images = chips_to_images(chips, 1)
    n, h, w = images.shape[:3]
    mask_sets = {
        "center64": np.repeat(center_box(h, w, size=64)[None], n, axis=0),
        "damage": make_masks(MaskSpec({"boxes": 1.0, "strokes": 1.0, "scratches": 1.0, "dust": 1.0}, box_size=(16, 64)), n, h, w, seed=2026),
    }
    models = {"inpaint.pt (shipped)": DEFAULT_INPAINT_MODEL} if DEFAULT_INPAINT_MODEL.exists() else {}
    for name in ABLATIONS:
        path = Path(args.runs) / f"inpaint_{name}" / "best.pt"
        if path.exists():
            models[name] = path
    results = evaluate_models(models, images, mask_sets, device="cpu", engine_split=("inpaint.pt (shipped)",))
    results["models"] = {k: str(v) for k, v in models.items()}
    results["date"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    preamble = (
        "# Inpainting evaluation\n\n"
        f"{n} held-out real aerial chips ({h} x {w}, gray) from {Path(args.config).name}'s held-out areas; "
        f"run {results['date']}. Biharmonic = scikit-image `inpaint_biharmonic`, computed in the same run on the "
        "same chips and holes. PSNR with peak 1; mean L2 = mean squared error on [0, 1] gray, in %; SSIM over "
        "the hole = the SSIM map averaged over hole pixels. Mean ± std over chips for PSNR; the last column is "
        "the PSNR of the hole L2 averaged over all chips. `+ thin biharmonic` = how `geocolor inpaint` runs the "
        "model: holes whose every pixel is within 3 px of a known one by biharmonic, the rest by the network.\n\n"
    )
    json_path, md_path = write_report(results, args.out, preamble)
    print(md_path.read_text())


if __name__ == "__main__":
    main()
