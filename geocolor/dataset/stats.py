"""Dataset statistics (``stats.json``) and their plot (``stats.png``).

The statistics are computed from the manifest records, not from the split code, so the leakage
check is an independent test of the split: it transforms every chip footprint into the split CRS and
measures the smallest distance between train chips and val/test chips (and between val and test).
A distance of zero or less means some held-out chip touches a training chip; ``leakage.ok`` says so.
"""

from __future__ import annotations

import io
import logging
import math
from typing import Any

import numpy as np
from rasterio.warp import transform_bounds

from geocolor.dataset.config import SPLITS
from geocolor.dataset.io import write_bytes, write_json
from geocolor.dataset.splits import min_box_distance
from geocolor.types import PathLike

log = logging.getLogger(__name__)

HIST_BINS = 32


def chip_histogram(rgb: np.ndarray, valid: np.ndarray) -> list[list[int]]:
    """Per-channel histogram (``HIST_BINS`` bins over 0..255) of a chip's valid pixels."""
    pixels = rgb[valid]
    return [np.bincount(pixels[:, c] // (256 // HIST_BINS), minlength=HIST_BINS).tolist() for c in range(3)]


def footprints_in(records: list[dict[str, Any]], crs: str | None) -> np.ndarray:
    """N x 4 boxes of the records in ``crs`` (their own bounds where ``crs`` is None or equal)."""
    boxes = []
    for r in records:
        box = (r["left"], r["bottom"], r["right"], r["top"])
        if crs and r["crs"] and r["crs"] != crs:
            box = transform_bounds(r["crs"], crs, *box, densify_pts=21)
        boxes.append(box)
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def leakage(records: list[dict[str, Any]], crs: str | None) -> dict[str, Any]:
    """Smallest distance between chip footprints of different splits (colour chips only)."""
    paired = [r for r in records if r["domain"] == "paired"]
    by_split = {s: footprints_in([r for r in paired if r["split"] == s], crs) for s in SPLITS}
    out: dict[str, Any] = {}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        d = min_box_distance(by_split[a], by_split[b])
        out[f"{a}-{b}"] = None if math.isinf(d) else d
    measured = [v for v in out.values() if v is not None]
    out["min_distance"] = min(measured) if measured else None
    out["ok"] = all(v > 0 for v in measured)
    out["crs"] = crs
    return out


def compute_stats(records: list[dict[str, Any]], hists: dict[str, np.ndarray], skipped: dict[str, int],
                  split_info: dict[str, Any]) -> dict[str, Any]:
    """Counts per split and domain, colour histograms per split, skip reasons, split layout and leakage."""
    counts: dict[str, dict[str, int]] = {"paired": dict.fromkeys(SPLITS, 0), "real_a": dict.fromkeys(SPLITS, 0)}
    by_source: dict[str, int] = {}
    for r in records:
        counts[r["domain"]][r["split"]] += 1
        by_source[r["source"]] = by_source.get(r["source"], 0) + 1
    histograms = {}
    for split in SPLITS:
        h = hists.get(split, np.zeros((3, HIST_BINS), dtype=np.int64))
        histograms[split] = {"bins": HIST_BINS, "red": h[0].tolist(), "green": h[1].tolist(), "blue": h[2].tolist()}
    check = leakage(records, split_info.get("crs"))
    if not check["ok"]:
        log.error("leakage check failed: held-out chips touch training chips (%s)", check)
    return {"counts": counts["paired"], "real_a_counts": counts["real_a"], "total": sum(counts["paired"].values()),
            "skipped": skipped, "by_source": by_source, "split": split_info, "leakage": check,
            "colour_histograms": histograms}


def write_stats(root: PathLike, stats: dict[str, Any], records: list[dict[str, Any]]) -> None:
    """Write ``stats.json`` and ``stats.png`` (counts, colour histograms, chip footprints by split)."""
    from pathlib import Path

    write_json(Path(root) / "stats.json", stats)
    write_bytes(Path(root) / "stats.png", _plot(stats, records))


def _plot(stats: dict[str, Any], records: list[dict[str, Any]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 4.5))
    ax_counts, ax_hist, ax_map = fig.subplots(1, 3)
    colours = {"train": "tab:blue", "val": "tab:orange", "test": "tab:green"}
    ax_counts.bar(list(SPLITS), [stats["counts"][s] for s in SPLITS], color=[colours[s] for s in SPLITS])
    ax_counts.set_title(f"chips per split (skipped: {sum(stats['skipped'].values())})")
    centres = (np.arange(HIST_BINS) + 0.5) * (256 / HIST_BINS)
    for split in SPLITS:
        h = stats["colour_histograms"][split]
        for channel, style in (("red", "-"), ("green", "--"), ("blue", ":")):
            values = np.asarray(h[channel], dtype=np.float64)
            if values.sum():
                ax_hist.plot(centres, values / values.sum(), style, color=colours[split], label=f"{split} {channel}")
    ax_hist.set_title("colour histograms (R solid, G dashed, B dotted)")
    ax_hist.legend(fontsize=6, ncol=3)
    paired = [r for r in records if r["domain"] == "paired"]
    boxes = footprints_in(paired, stats["split"].get("crs"))
    for r, (left, bottom, right, top) in zip(paired, boxes, strict=True):
        ax_map.add_patch(_rect(left, bottom, right - left, top - bottom, colours[r["split"]]))
    if len(boxes):
        ax_map.set_xlim(boxes[:, 0].min(), boxes[:, 2].max())
        ax_map.set_ylim(boxes[:, 1].min(), boxes[:, 3].max())
    ax_map.set_aspect("equal")
    d = stats["leakage"]["min_distance"]
    ax_map.set_title(f"footprints by split; min distance {d:.1f}" if d is not None else "footprints by split")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def _rect(x: float, y: float, w: float, h: float, colour: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=colour, edgecolor="black", linewidth=0.3, alpha=0.7)
