"""Calibrate a model's saturation on the catalogue's val sources and write a copy that carries it.

    .venv/bin/python pipelines/quality/calibrate.py --model runs/default_model/best.pt --out calibrated.pt

Prints the colourfulness ratio, CIEDE2000 and false-colour rate at each chroma gain on the val crops
(never the test sources), then writes OUT with the largest gain that keeps the colourfulness ratio at
most 1 and the false-colour rate at most 2 % (geocolor.quality.calibrate.choose_gain).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from geocolor.models import load  # noqa: E402
from geocolor.quality.calibrate import choose_gain, gain_curve, predicted_lab, write_calibrated  # noqa: E402
from geocolor.quality.catalog import load_catalog  # noqa: E402
from geocolor.quality.protocol import source_crops  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", default=str(HERE / "catalog.yaml"))
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-source", type=int, default=16)
    ap.add_argument("--gain", type=float, default=None, help="store this gain instead of the measured one")
    args = ap.parse_args(argv)
    cat = load_catalog(args.catalog)
    crops = [c for s in cat.by_role("val") for c in source_crops(s, args.per_source)]
    if not crops:
        ap.error("the catalogue has no val source to calibrate on")
    labs = predicted_lab(load(args.model, device="cpu"), crops)
    rows = gain_curve(labs, crops)
    print("| gain | colourfulness ratio | CIEDE2000 | PSNR dB | false colour |\n|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['gain']:.2f} | {r['colourfulness_ratio']:.2f} | {r['delta_e2000']:.2f} | {r['psnr']:.2f} | {100 * r['false_colour']:.1f} % |")
    gain = args.gain if args.gain is not None else choose_gain(rows)
    record = {"chroma_gain": gain, "on": [s.name for s in cat.by_role("val")], "crops": len(crops),
              "curve": rows, "rule": "largest gain with colourfulness ratio <= 1 and false colour <= 2 % on the val sources"
              if args.gain is None else "given"}
    write_calibrated(args.model, args.out, gain, record)
    print(f"chroma gain {gain:g} -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
