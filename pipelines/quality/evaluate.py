"""Judge colorization models on ground they never saw: one table per held-out source.

    .venv/bin/python pipelines/quality/evaluate.py                       # the shipped default model
    .venv/bin/python pipelines/quality/evaluate.py --model new=runs/default_model/last.pt \\
        --model shipped=geocolor/weights/default.pt --out pipelines/reports/quality

The held-out sources are the ``test`` sources of pipelines/quality/catalog.yaml (whole sources, never
parts of a raster that trained). Prints the tables, and with --out writes quality.json, quality.md and
one picture per source (gray | each model | truth, two crops).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from geocolor.models import load  # noqa: E402
from geocolor.quality.catalog import load_catalog  # noqa: E402
from geocolor.quality.protocol import evaluate_sources, judged, source_table, summary_table, to_json  # noqa: E402


def picture(res, names: list[str], n: int = 2, side: int = 256) -> np.ndarray:
    """Rows of (gray | each method | truth) for the first ``n`` crops, each shown at ``side`` px."""
    from PIL import Image

    def fit(img: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(img).resize((side, side), Image.Resampling.LANCZOS))

    rows = []
    for i in range(min(n, len(res.crops))):
        cells = [res.outputs["gray"][i], *(res.outputs[m][i] for m in names), res.crops[i].truth]
        gap = np.full((side, 6, 3), 255, np.uint8)
        row = np.concatenate([x for c in cells for x in (fit(c), gap)][:-1], axis=1)
        rows += [row, np.full((6, row.shape[1], 3), 255, np.uint8)]
    return np.concatenate(rows[:-1], axis=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", default=str(HERE / "catalog.yaml"))
    ap.add_argument("--model", action="append", default=[], metavar="NAME=PATH", help="a model to judge (repeatable)")
    ap.add_argument("--role", action="append", default=[], help="catalogue roles to judge on (default: test)")
    ap.add_argument("--per-source", type=int, default=16, help="crops per source")
    ap.add_argument("--size", type=int, default=512, help="crop side in pixels (smaller rasters: the largest multiple of 128)")
    ap.add_argument("--out", default=None, help="folder for quality.json, quality.md and the pictures")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    specs = args.model or [f"shipped={HERE.parents[1] / 'geocolor/weights/default.pt'}"]
    models = {}
    for spec in specs:
        name, _, path = spec.partition("=")
        if not path:
            ap.error(f"--model {spec!r} must look like NAME=PATH")
        models[name] = load(path, device=args.device)
    cat = load_catalog(args.catalog)
    t0 = time.time()
    results = evaluate_sources(cat, models, tuple(args.role or ["test"]), args.per_source, args.size,
                               progress=lambda s: print(s, file=sys.stderr, flush=True))
    parts = [source_table(r, list(models)) for r in results]
    parts += [summary_table(results, m) for m in judged(results, list(models))]
    text = "\n\n".join(parts)
    print(text)
    print(f"\n({time.time() - t0:.0f} s)", file=sys.stderr)
    if args.out:
        from PIL import Image

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        report = to_json(results, list(models))
        report["models"] = {n: str(p.partition("=")[2]) for n, p in zip(models, specs)}
        (out / "quality.json").write_text(json.dumps(report, indent=1))
        header = (
            "# Colour quality on unseen ground\n\nEvery source below is held out of training (whole sources; see "
            "pipelines/quality/catalog.yaml). Produced by `pipelines/quality/evaluate.py`. Targets per model: PSNR >= oracle "
            "mean colour + 1 dB, CIEDE2000 <= oracle - 2, false colour <= 2 %, colourfulness ratio 0.8-1.25.\n\n"
            "Models: " + ", ".join(f"`{n}` ({p.partition('=')[2]})" for n, p in zip(models, specs)) + "\n\n"
        )
        (out / "quality.md").write_text(header + text + "\n")
        for r in results:
            Image.fromarray(picture(r, list(models))).save(out / f"{r.source.name}.jpg", quality=88)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
