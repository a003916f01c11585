"""How much ``geocolor adapt`` gains over the shipped default model, on scans with a colour truth.

Two cases (``--case temporal|spatial|both``):

- **temporal**: the modern imagery is NAIP 2020; the "scan" is NAIP 2009 of the same tile made gray
  and film-like (tone, blur, grain); the truth is NAIP 2009 in colour.
- **spatial**: one colour source the default model never trained on (``ortho_togo``, a test source of
  the quality catalogue) cut in two halves: adapt on the top half, the scan is the bottom half made
  gray and film-like; the truth is the bottom half in colour.

Both models colour the same scan through ``geocolor mosaic`` (base: ``DIR/base/<scan>.tif``;
adapted: ``DIR/<scan>.tif``). Colour is judged on the truth's own lightness: each output's a*b* is
put on the truth's L* (the scan's L* is film-degraded on purpose, and mosaic keeps the input's L*),
then PSNR, CIEDE2000 (means over 256 px windows without nodata) and the false-colour rate (pooled:
truth C*ab < 10, output C*ab > 20) against the truth. The modern imagery is read from local rasters
(``--from``); the WMTS path of ``adapt`` is exercised by the tests against a loopback TiTiler.

Usage: ``python benchmarks/adapt_transfer.py [--case both] [--minutes 15] [--out runs/adapt_bench]``
Prints a table and writes ``results.json`` / ``results.md`` under ``--report``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
SHARED = REPO.parent / "shared" / "data"

NAIP_2009 = SHARED / "naip" / "m_4709963_se_14_1_20090818.tif"
NAIP_2020 = SHARED / "naip" / "m_4709963_se_14_1_20200831.tif"
TARGETS = {"psnr_gain": 1.5, "delta_e_gain": 2.0, "false_colour_max": 0.03, "minutes_max": 15.0}


def film_gray(rgb: np.ndarray, seed: int = 0) -> np.ndarray:
    """An old-print look for a colour array: L* gray, flatter and lighter, soft, grainy (uint8, 0 = nodata)."""
    from scipy import ndimage

    from geocolor.color import lightness_to_gray, rgb_to_lab

    g = np.asarray(lightness_to_gray(rgb_to_lab(rgb.astype(np.float32) / 255.0)[..., 0]))
    g = np.clip(0.08 + 0.8 * g**1.15, 0, 1)
    g = ndimage.gaussian_filter(g, 0.8)
    noise = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal(g.shape), 0.6)
    g = g + 0.02 * noise / max(float(noise.std()), 1e-6)
    out = np.clip(np.rint(g * 255), 1, 255).astype(np.uint8)
    out[rgb.max(axis=-1) == 0] = 0
    return out


def write_like(src: Path, dst: Path, data: np.ndarray, window: tuple[slice, slice] | None = None) -> Path:
    """``data`` (H x W gray, or H x W x 3) as a GeoTIFF with ``src``'s georeferencing (of ``window``)."""
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(src) as ds:
        transform = ds.transform
        if window is not None:
            rows, cols = window
            transform = ds.window_transform(Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start))
        crs = ds.crs
    bands = data[None] if data.ndim == 2 else np.moveaxis(data, -1, 0)
    with rasterio.open(dst, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
                       dtype="uint8", crs=crs, transform=transform, nodata=0 if data.ndim == 2 else None) as out:
        out.write(bands)
    return dst


def on_truth_lightness(output: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The output's a*b* on the truth's L*, as uint8 RGB."""
    from geocolor.color import lab_to_rgb, rgb_to_lab

    lab_out, lab_truth = rgb_to_lab(output.astype(np.float32) / 255), rgb_to_lab(truth.astype(np.float32) / 255)
    lab = np.concatenate([lab_truth[..., :1], lab_out[..., 1:]], axis=-1)
    return np.clip(np.rint(np.asarray(lab_to_rgb(lab)) * 255), 0, 255).astype(np.uint8)


def figures(output: np.ndarray, truth: np.ndarray, side: int = 256) -> dict[str, float]:
    from geocolor.metrics.chroma import false_colour_counts
    from geocolor.metrics.pixel import pixel_metrics

    pred = on_truth_lightness(output, truth)
    rows = []
    for r in range(0, truth.shape[0] - side + 1, side):
        for c in range(0, truth.shape[1] - side + 1, side):
            t = truth[r : r + side, c : c + side]
            if (t.max(axis=-1) == 0).any():
                continue
            rows.append(pixel_metrics(pred[r : r + side, c : c + side], t))
    valid = truth.max(axis=-1) > 0
    false, low = false_colour_counts(pred, truth, valid)
    return {"psnr": float(np.mean([x["psnr"] for x in rows])), "delta_e2000": float(np.mean([x["delta_e2000"] for x in rows])),
            "false_colour": false / max(low, 1), "windows": len(rows)}


def read_gray(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as ds:
        return ds.read(1)


def read(path: Path) -> np.ndarray:
    from geocolor.raster import read_rgb

    return read_rgb(path)


def picture(panels: list[np.ndarray], dst: Path, width: int = 460) -> None:
    """One JPEG of the panels side by side (scan | base | adapted | truth), each ``width`` px wide."""
    from PIL import Image

    tiles = []
    for p in panels:
        img = Image.fromarray(p if p.ndim == 3 else np.repeat(p[..., None], 3, -1))
        tiles.append(img.resize((width, max(1, round(img.height * width / img.width))), Image.Resampling.LANCZOS))
    sheet = Image.new("RGB", (width * len(tiles) + 8 * (len(tiles) - 1), max(t.height for t in tiles)), "white")
    for i, t in enumerate(tiles):
        sheet.paste(t, (i * (width + 8), 0))
    sheet.save(dst, format="JPEG", quality=85)


def run_case(name: str, out: Path, minutes: float, threads: int, restraint: float, report: Path) -> dict[str, object]:
    from geocolor.adapt import adapt

    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    if name == "temporal":
        truth = read(NAIP_2009)
        scan = write_like(NAIP_2009, folder / "scan.tif", film_gray(truth))
        modern = [NAIP_2020]
    else:
        from geocolor.quality.catalog import load_catalog

        cat = load_catalog(REPO / "pipelines" / "quality" / "catalog.yaml")
        src = Path(next(s for s in cat.sources if s.name == "ortho_togo").files[0])
        full = read(src)
        half = full.shape[0] // 2
        top = (slice(0, half), slice(0, full.shape[1]))
        bottom = (slice(half, full.shape[0]), slice(0, full.shape[1]))
        truth = full[bottom]
        modern = [write_like(src, folder / "modern_top.tif", full[top], top)]
        scan = write_like(src, folder / "scan.tif", film_gray(truth), bottom)
    started = time.monotonic()
    result = adapt([scan], folder / "adapt", from_rasters=modern, minutes=minutes, threads=threads, buffer_m=0.0,
                   restraint=restraint, show_progress=False)
    wall = (time.monotonic() - started) / 60
    base_img, adapted_img = read(folder / "adapt" / "base" / "scan.tif"), read(folder / "adapt" / "scan.tif")
    base, adapted = figures(base_img, truth), figures(adapted_img, truth)
    report.mkdir(parents=True, exist_ok=True)
    picture([read_gray(scan), base_img, adapted_img, truth], report / f"{name}.jpg")
    return {"case": name, "restraint": restraint, "base": base, "adapted": adapted, "train_minutes": result.minutes, "wall_minutes": wall,
            "steps": result.steps, "heldout_base": result.heldout_base, "heldout_adapted": result.heldout_adapted}


def table(rows: list[dict]) -> str:
    lines = ["| case | model | PSNR (dB) | CIEDE2000 | false colour | train min | targets |", "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        b, a = r["base"], r["adapted"]
        met = [a["psnr"] - b["psnr"] >= TARGETS["psnr_gain"], b["delta_e2000"] - a["delta_e2000"] >= TARGETS["delta_e_gain"],
               a["false_colour"] <= TARGETS["false_colour_max"], r["train_minutes"] <= TARGETS["minutes_max"]]
        names = ("+1.5 dB", "-2 CIEDE2000", "false colour <= 3 %", "<= 15 min")
        verdict = ", ".join(f"{n} {'met' if ok else 'missed'}" for n, ok in zip(names, met))
        lines.append(f"| {r['case']} | shipped default | {b['psnr']:.2f} | {b['delta_e2000']:.2f} | {100 * b['false_colour']:.1f} % | | |")
        lines.append(f"| {r['case']} | adapted (restraint {r.get('restraint', 0)}) | {a['psnr']:.2f} | {a['delta_e2000']:.2f} | {100 * a['false_colour']:.1f} % | "
                     f"{r['train_minutes']:.1f} | {verdict} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=("temporal", "spatial", "both"), default="both")
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--restraint", type=float, default=1.0, help="adapt's --restraint (0: plain L1)")
    ap.add_argument("--out", default=str(REPO / "runs" / "adapt_bench"))
    ap.add_argument("--report", default=str(REPO / "pipelines" / "reports" / "adapt"))
    args = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    cases = ("temporal", "spatial") if args.case == "both" else (args.case,)
    report = Path(args.report)
    rows = [run_case(c, Path(args.out), args.minutes, args.threads, args.restraint, report) for c in cases]
    text = table(rows)
    print(text)
    report.mkdir(parents=True, exist_ok=True)
    (report / "results.json").write_text(json.dumps(rows, indent=2) + "\n")
    (report / "results.md").write_text("# geocolor adapt: transfer benchmark\n\n" + (__doc__ or "").split("\n\n", 1)[1] + "\n" + text)


if __name__ == "__main__":
    main()
