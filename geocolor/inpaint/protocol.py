"""Leave-source-out evaluation of inpainting: whole sources that no model trained on, one table each.

For each held-out source of the quality catalogue (``pipelines/quality/catalog.yaml``, role ``test``)
a fixed, seeded set of gray crops gets the same holes (``hole_set``: 32-64 px rectangles, away from
the crop's edge) for every method. Figures per method and source:

- hole PSNR: mean and std over crops, the number of crops more than 1 dB below biharmonic, and the
  pooled PSNR (of the mean squared error over every hole pixel of the source);
- hole SSIM (the SSIM map averaged over hole pixels);
- border continuity and checkerboard index (``geocolor.inpaint.artifacts``), means over crops.

Targets per source (``TARGETS``): auto >= biharmonic + 1 dB and never below biharmonic - 0.1 dB
(mean per crop); the network alone >= biharmonic; border continuity <= 1.5; checkerboard index <= 3.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from geocolor.inpaint.artifacts import BORDER_CONTINUITY_MAX, CHECKERBOARD_MAX, border_continuity, checkerboard_index

Filler = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (N, H, W, C) images, (N, H, W) holes -> filled
TARGETS = {"auto_over_biharmonic": 1.0, "auto_floor": -0.1, "network_over_biharmonic": 0.0,
           "border_continuity_max": BORDER_CONTINUITY_MAX, "checkerboard_max": CHECKERBOARD_MAX}


def hole_set(n: int, h: int, w: int, seed: int, count: int = 2, size: tuple[int, int] = (32, 64),
             edge: int = 16) -> np.ndarray:
    """``n`` masks (n, H, W) of ``count`` rectangles each, sides in ``size`` px, ``edge`` px from the crop's
    border and not touching each other (seeded: the same seed gives the same holes)."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, h, w), dtype=bool)
    for i in range(n):
        placed = 0
        for _ in range(200):
            if placed == count:
                break
            bh, bw = (int(v) for v in rng.integers(size[0], size[1] + 1, size=2))
            if bh + 2 * edge > h or bw + 2 * edge > w:
                raise ValueError(f"a {bh} x {bw} hole does not fit a {h} x {w} crop with a {edge} px edge")
            r, c = int(rng.integers(edge, h - edge - bh + 1)), int(rng.integers(edge, w - edge - bw + 1))
            if masks[i, max(0, r - 4) : r + bh + 4, max(0, c - 4) : c + bw + 4].any():
                continue
            masks[i, r : r + bh, c : c + bw] = True
            placed += 1
    return masks


def _psnr(mse: float) -> float:
    return float(10.0 * np.log10(1.0 / mse)) if mse > 0 else 100.0


def per_crop(filled: np.ndarray, truth: np.ndarray, holes: np.ndarray) -> list[dict[str, float]]:
    """Hole PSNR, squared error sum, SSIM, border continuity and checkerboard index of each crop."""
    from geocolor.inpaint.evaluate import fill_metrics

    rows = []
    for p, t, h in zip(filled, truth, holes):
        p2, t2 = (p.squeeze(-1), t.squeeze(-1)) if p.shape[-1] == 1 else (p, t)
        m = fill_metrics(p2, t2, h)
        image = np.moveaxis(p, -1, 0)
        rows.append({"psnr_hole": m["psnr_hole"], "ssim_hole": m["ssim_hole"], "l2_hole": m["l2_hole"],
                     "hole_pixels": float(h.sum()), "border_continuity": border_continuity(image, h),
                     "checkerboard": checkerboard_index(image, h)})
    return rows


def source_figures(rows: Sequence[dict[str, float]], baseline: Sequence[dict[str, float]] | None) -> dict[str, float]:
    """A method's figures on one source; ``baseline`` (biharmonic's rows) adds the gaps to it."""
    psnr = np.array([r["psnr_hole"] for r in rows])
    weights = np.array([r["hole_pixels"] for r in rows])
    out = {
        "psnr_hole": float(psnr.mean()), "psnr_hole_std": float(psnr.std()),
        "psnr_pooled": _psnr(float((np.array([r["l2_hole"] for r in rows]) * weights).sum() / weights.sum())),
        "ssim_hole": float(np.mean([r["ssim_hole"] for r in rows])),
        "border_continuity": float(np.nanmean([r["border_continuity"] for r in rows])),
        "checkerboard": float(np.nanmean([r["checkerboard"] for r in rows])),
        "n": len(rows),
    }
    if baseline is not None:
        gap = psnr - np.array([r["psnr_hole"] for r in baseline])
        out.update({"gap_biharmonic": float(gap.mean()), "worst_gap": float(gap.min()),
                    "crops_1db_worse": int((gap < -1.0).sum())})
    return out


def targets_met(figures: dict[str, dict[str, float]], auto: str, network: str) -> dict[str, bool]:
    """The issue's targets for one source (see module docstring)."""
    a, n = figures[auto], figures[network]
    return {
        "auto >= biharmonic + 1 dB": a["gap_biharmonic"] >= TARGETS["auto_over_biharmonic"],
        "auto >= biharmonic - 0.1 dB": a["gap_biharmonic"] >= TARGETS["auto_floor"],
        "network >= biharmonic": n["gap_biharmonic"] >= TARGETS["network_over_biharmonic"],
        "border <= 1.5": a["border_continuity"] <= TARGETS["border_continuity_max"],
        "no checkerboard": n["checkerboard"] <= TARGETS["checkerboard_max"],
    }


def evaluate_source(images: np.ndarray, holes: np.ndarray, fillers: dict[str, Filler]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(figures per method, filled images per method) of every filler on one source's crops and holes;
    ``fillers`` must hold ``biharmonic``."""
    filled = {name: fill(images, holes) for name, fill in fillers.items()}
    rows = {name: per_crop(out, images, holes) for name, out in filled.items()}
    figures = {name: source_figures(r, None if name == "biharmonic" else rows["biharmonic"]) for name, r in rows.items()}
    figures["biharmonic"].update({"gap_biharmonic": 0.0, "worst_gap": 0.0, "crops_1db_worse": 0})
    return figures, filled


def source_table(name: str, figures: dict[str, dict[str, float]]) -> str:
    """One markdown table: a row per method."""
    lines = [f"### {name} ({figures['biharmonic']['n']} crops)", "",
             "| method | hole PSNR (dB) | vs biharmonic (mean / worst crop) | crops > 1 dB worse | pooled PSNR | SSIM hole "
             "| border continuity | checkerboard |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for method, f in figures.items():
        lines.append(f"| {method} | {f['psnr_hole']:.2f} ± {f['psnr_hole_std']:.2f} | {f['gap_biharmonic']:+.2f} / "
                     f"{f['worst_gap']:+.2f} | {f['crops_1db_worse']} | {f['psnr_pooled']:.2f} | {f['ssim_hole']:.3f} | "
                     f"{f['border_continuity']:.2f} | {f['checkerboard']:.2f} |")
    return "\n".join(lines) + "\n"


def summary_table(results: dict[str, dict[str, Any]], auto: str, network: str) -> str:
    """One row per source: biharmonic's PSNR, the gaps of the network and auto, and which targets are met."""
    lines = ["| source | biharmonic PSNR | network − biharmonic | auto − biharmonic | auto worst crop | border (auto) "
             "| checkerboard (network) | targets missed |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for source, entry in results.items():
        f = entry["figures"]
        met = targets_met(f, auto, network)
        missed = ", ".join(k for k, ok in met.items() if not ok) or "none"
        lines.append(f"| {source} | {f['biharmonic']['psnr_hole']:.2f} | {f[network]['gap_biharmonic']:+.2f} | "
                     f"{f[auto]['gap_biharmonic']:+.2f} | {f[auto]['worst_gap']:+.2f} | {f[auto]['border_continuity']:.2f} | "
                     f"{f[network]['checkerboard']:.2f} | {missed} |")
    return "\n".join(lines) + "\n"
