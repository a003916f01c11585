"""What tone matching gives ``geocolor adapt`` on scans printed differently from the one the film was fitted to.

An archive's sheets of one flight differ in exposure and development. This takes the temporal case of
``benchmarks/adapt_transfer.py`` (run that first: it leaves the adapted model and the film-like 2009 scan
under ``--bench``) and prints the same scan three ways: as fitted, darker and flatter, brighter and harder.
Each print is coloured by the adapted model twice through ``geocolor mosaic``: as it is, and tone-matched
(``tone_target``) to the fitted print's tone as the mosaic measures it, which is what ``adapt`` does for every
scan of an archive (the scans' pooled tone). Figures are those of ``adapt_transfer`` (a*b* on the truth's L*,
PSNR / CIEDE2000 over 256 px windows, pooled false-colour rate) against the 2009 truth.

Usage: ``python benchmarks/adapt_tone.py [--bench runs/adapt_bench] [--threads 1]``; writes ``tone.md`` and
``tone.jpg`` (the darker print | coloured as it is | tone-matched | truth) under ``--report``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from adapt_transfer import NAIP_2009, figures, picture, read, read_gray  # noqa: E402

PRINTS = {
    "as fitted": lambda g: g,
    "darker, flatter": lambda g: 0.08 + 0.6 * g**1.6,
    "brighter, harder": lambda g: np.clip((g - 0.15) / 0.7, 0.0, 1.0),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", default=str(REPO / "runs" / "adapt_bench"), help="adapt_transfer.py's --out")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--report", default=str(REPO / "pipelines" / "reports" / "adapt"))
    args = ap.parse_args()
    import rasterio

    from geocolor.mosaic import colorize
    from geocolor.raster import open_raster, plan_input
    from geocolor.style.apply import lightness_sample

    case = Path(args.bench) / "temporal"
    model = case / "adapt" / "adapted.pt"
    if not model.exists():
        sys.exit(f"{model} not found: run benchmarks/adapt_transfer.py --case temporal first")
    work = case / "tone"
    work.mkdir(exist_ok=True)
    with rasterio.open(case / "scan.tif") as ds:
        gray, profile = ds.read(1).astype(np.float64) / 255.0, ds.profile
    truth = read(NAIP_2009)
    rows, target = [], None
    for n, (name, curve) in enumerate(PRINTS.items()):
        src = work / f"print{n}.tif"
        with rasterio.open(src, "w", **profile) as out:
            out.write(np.where(gray > 0, np.clip(np.rint(255 * curve(gray)), 1, 255), 0).astype(np.uint8)[None])
        if target is None:  # the fitted print's tone, measured as the mosaic measures it
            with open_raster(src) as ds:
                target = tuple(float(v) for v in lightness_sample(ds, plan_input(ds, None, (0.5, 99.5)), 256))
        for matched in (False, True):
            dst = work / f"print{n}_{'toned' if matched else 'plain'}.tif"
            colorize(src, dst, model=model, overwrite=True, show_progress=False, threads=args.threads,
                     tone_target=target if matched else None)
            rows.append({"print": name, "tone_matched": matched, **figures(read(dst), truth)})
            print(json.dumps(rows[-1]), flush=True)
    # the picture: the darker print | coloured as it is | tone-matched | the 2009 truth
    picture([read_gray(work / "print1.tif"), read(work / "print1_plain.tif"), read(work / "print1_toned.tif"), truth],
            Path(args.report) / "tone.jpg")
    lines = ["| print | tone matched | PSNR (dB) | CIEDE2000 | false colour |", "|---|---|---:|---:|---:|"]
    lines += [f"| {r['print']} | {'yes' if r['tone_matched'] else 'no'} | {r['psnr']:.2f} | {r['delta_e2000']:.2f} | "
              f"{100 * r['false_colour']:.1f} % |" for r in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    report = Path(args.report)
    report.mkdir(parents=True, exist_ok=True)
    (report / "tone.md").write_text("# geocolor adapt: tone matching\n\n" + (__doc__ or "").split("\n\n", 1)[1] + "\n" + text)


if __name__ == "__main__":
    main()
