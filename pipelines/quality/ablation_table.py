"""One line per model over all held-out sources, from one or more quality.json files of evaluate.py.

    .venv/bin/python pipelines/quality/ablation_table.py pipelines/reports/quality/quality.json other/quality.json

Means over the sources of: PSNR and CIEDE2000 margins over the oracle mean colour (positive = better
than the oracle), CIEDE2000 itself, the false-colour rate (and its worst source), and the range of the
colourfulness ratio. Models named in several files keep their first figures.
"""

from __future__ import annotations

import json
import sys


def rows(paths: list[str]) -> dict[str, dict[str, list[float]]]:
    out: dict[str, dict[str, list[float]]] = {}
    seen: set[str] = set()
    for path in paths:
        report = json.loads(open(path).read())
        fresh: set[str] = set()
        for source in report["sources"]:
            figs, oracle = source["figures"], source["figures"]["oracle_mean_color"]
            for name, f in figs.items():
                if name in ("gray", "oracle_mean_color", "training_mean_color") or name in seen:
                    continue
                fresh.add(name)
                d = out.setdefault(name, {k: [] for k in ("dpsnr", "dde", "de", "fc", "ratio")})
                d["dpsnr"].append(f["psnr"] - oracle["psnr"])
                d["dde"].append(oracle["delta_e2000"] - f["delta_e2000"])
                d["de"].append(f["delta_e2000"])
                d["fc"].append(f["false_colour"] or 0.0)
                d["ratio"].append(f["colourfulness_ratio"])
        seen |= fresh
    return out


def table(data: dict[str, dict[str, list[float]]]) -> str:
    lines = ["| model | PSNR − oracle (dB) | oracle − CIEDE2000 | CIEDE2000 | false colour | worst source | colourfulness ratio |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for name, d in data.items():
        n = len(d["de"])
        lines.append(f"| {name} | {sum(d['dpsnr']) / n:+.2f} | {sum(d['dde']) / n:+.2f} | {sum(d['de']) / n:.2f} | "
                     f"{100 * sum(d['fc']) / n:.1f} % | {100 * max(d['fc']):.1f} % | {min(d['ratio']):.2f}–{max(d['ratio']):.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(rows(sys.argv[1:])))
