"""Evaluate ``mosaic --style``: sheet-to-sheet colour consistency, distance to the reference palette,
and held-out PSNR / SSIM / CIEDE2000 of the stylecolor model against the shipped pix2pix.

Run from the repository root (takes a few minutes on 2 CPU cores):

    python pipelines/style_eval.py [--stylecolor geocolor/weights/stylecolor.pt] [--out pipelines/reports/style]

Sheets: two overlapping gray "map sheets" cut from the held-out right 30 % of the NAIP area (never
trained on by either model), 280 x 400 px each, overlapping by 240 rows (60 %, as consecutive aerial
frames). Scenarios:

- ``exposure``: the same year, sheet B a darker, flatter print (gamma 1.5, contrast 0.7, 8 % darker);
- ``film``: the same year, sheet B run through geocolor's film-degradation chain (grain, fade,
  exposure drift, blur, dust, scan), like two frames printed and scanned differently;
- ``years``: sheets from two different NAIP years, like neighbouring sheets flown years apart.

Each sheet is colorized independently (``colorize_many``) without a style, with ``--style auto``,
and with ``--style REF`` (as ``colorize_many`` does: each sheet's palette measured where the sheets
overlap, ``geocolor.style.overlap``), where REF is a modern colour orthophoto of the area (NAIP 2020, the training
part, cols 0-638); each style with and without tone matching (``--no-tone-match``), and the last rows also
with ``--dodge 40`` (a tenth of the sheet's long side; ``geocolor.style.dodge``). Consistency = mean CIEDE2000 between the two outputs over the overlap strip
(same ground, so ideally 0, less whatever really differs between the years: the true colours' figure
is given as a floor). Palette distance = 2-Wasserstein distance between the a*b* Gaussians of an
output and of the reference (``geocolor.style.palette.palette_distance``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from geocolor.color import lightness_to_gray, rgb_to_lab  # noqa: E402
from geocolor.metrics.pixel import delta_e2000, pixel_metrics, psnr, summarize  # noqa: E402
from geocolor.models import DEFAULT_MODEL, load  # noqa: E402
from geocolor.mosaic.batch import colorize_many  # noqa: E402
from geocolor.style.palette import ab_moments, apply_transform, matching_transform, palette_distance  # noqa: E402
from geocolor.style.reference import read_reference  # noqa: E402

NAIP = REPO.parent / "shared" / "data" / "naip"
COLS = (654, 934)  # the held-out right 30 %
ROWS_A, ROWS_B = (0, 400), (160, 560)  # 60 % overlap, as consecutive aerial frames
DODGE = 40  # --dodge radius for the 280 x 400 sheets: a tenth of the long side
RUNS = [("none", False, 0), ("auto", False, 0), ("auto", True, 0), ("ref", False, 0), ("ref", True, 0),
        ("none", False, DODGE), ("auto", True, DODGE), ("ref", True, DODGE)]  # (style, tone matching, dodge radius)
SCENARIOS = {"exposure_2016": ("20160816", "20160816", "exposure"), "film_2016": ("20160816", "20160816", "film"),
             "years_2010_2017": ("20100629", "20170827", None)}


def naip(date: str) -> Path:
    return next(NAIP.glob(f"*_{date}.tif"))


def exposure(gray: np.ndarray) -> np.ndarray:
    """A darker, flatter print of the same negative: gamma 1.5, contrast 0.7, 8 % darker."""
    g = gray.astype(np.float32) / 255.0
    return (np.clip((g**1.5 - 0.5) * 0.7 + 0.42, 0.0, 1.0) * 255).round().astype(np.uint8)


def write_sheet(date: str, rows: tuple[int, int], out: Path, effect: str | None) -> np.ndarray:
    """Write a gray sheet of NAIP ``date`` (``effect``: None, "film" or "exposure"); return its true colour (H, W, 3) uint8."""
    from geocolor.dataset.config import FilmConfig
    from geocolor.dataset.film import degrade

    win = Window(COLS[0], rows[0], COLS[1] - COLS[0], rows[1] - rows[0])
    with rasterio.open(naip(date)) as src:
        rgb = src.read([1, 2, 3], window=win)
        profile = {"driver": "GTiff", "width": win.width, "height": win.height, "count": 1, "dtype": "uint8",
                   "crs": src.crs, "transform": window_transform(win, src.transform)}
    lum = rgb_to_lab(np.moveaxis(rgb, 0, -1).astype(np.float32) / 255.0)[..., 0]
    gray = np.round(lightness_to_gray(lum) * 255).astype(np.uint8)
    if effect == "film":
        gray = degrade(gray, FilmConfig(), seed=7, key=out.name)
    elif effect == "exposure":
        gray = exposure(gray)
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(gray[None])
    return np.moveaxis(rgb, 0, -1)


def write_reference(out: Path) -> Path:
    """NAIP 2020, training part (cols 0-638), as an RGB GeoTIFF: 'a modern orthophoto of the area'."""
    win = Window(0, 0, 638, 723)
    with rasterio.open(naip("20200831")) as src:
        rgb = src.read([1, 2, 3], window=win)
        profile = {"driver": "GTiff", "width": win.width, "height": win.height, "count": 3, "dtype": "uint8",
                   "crs": src.crs, "transform": window_transform(win, src.transform)}
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(rgb)
    return out


def read_rgb(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return np.moveaxis(ds.read(), 0, -1)


def overlap_delta_e(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean CIEDE2000 between sheet A's and sheet B's pixels of the same ground: as they are, and with
    B given A's L* (the colour difference alone; each output keeps its own input's lightness, which
    a style cannot and should not change)."""
    from geocolor.color import lab_to_rgb_keep_lightness

    lo, hi = ROWS_B[0], ROWS_A[1]
    oa, ob = a[lo - ROWS_A[0] : hi - ROWS_A[0]], b[lo - ROWS_B[0] : hi - ROWS_B[0]]
    lab_a, lab_b = (rgb_to_lab(x.astype(np.float32) / 255.0) for x in (oa, ob))
    lab_b[..., 0] = lab_a[..., 0]
    same_l = np.round(lab_to_rgb_keep_lightness(lab_b) * 255.0).astype(np.uint8)
    return delta_e2000(oa, ob), delta_e2000(oa, same_l)


def palette_of(rgb: np.ndarray):
    return ab_moments(rgb_to_lab(rgb.reshape(-1, 3).astype(np.float32) / 255.0)[:, 1:])


def sheets_experiment(models: dict[str, Path], work: Path) -> dict:
    ref_path = write_reference(work / "reference_naip2020.tif")
    ref_palette = read_reference(ref_path).moments()
    out: dict = {"reference": ref_path.name, "reference_palette": ref_palette.as_dict(), "scenarios": {}}
    for name, (date_a, date_b, effect) in SCENARIOS.items():
        sheet_a, sheet_b = work / f"{name}_a.tif", work / f"{name}_b.tif"
        truth_a = write_sheet(date_a, ROWS_A, sheet_a, None)
        truth_b = write_sheet(date_b, ROWS_B, sheet_b, effect)
        rows: dict = {"truth_overlap_delta_e": overlap_delta_e(truth_a, truth_b)}
        for model_name, model in models.items():
            for kind, tone, dodge in RUNS:
                style = {"none": None, "auto": "auto", "ref": str(ref_path)}[kind]
                label = f"{model_name} / {'no style' if style is None else kind}" + (" + tone" if tone else "") + (
                    f" + dodge {dodge}" if dodge else "")
                folder = work / f"{name}_{model_name}_{kind}_{tone}_{dodge}"
                t0 = time.perf_counter()
                colorize_many([sheet_a, sheet_b], folder, model=model, style=style, style_tone=tone, dodge=dodge,
                              device="cpu", show_progress=False)
                a, b = read_rgb(folder / sheet_a.name), read_rgb(folder / sheet_b.name)
                full, colour = overlap_delta_e(a, b)
                rows[label] = {
                    "overlap_delta_e": full,
                    "overlap_delta_e_same_lightness": colour,
                    "palette_distance_to_reference": [palette_distance(palette_of(x), ref_palette) for x in (a, b)],
                    "psnr_to_truth": [float(psnr(x, t)) for x, t in ((a, truth_a), (b, truth_b))],
                    "seconds": time.perf_counter() - t0,
                }
                print(name, label, rows[label], flush=True)
        out["scenarios"][name] = rows
    return out


def heldout_experiment(stylecolor: Path) -> dict:
    """PSNR / SSIM / CIEDE2000 on the 256 px held-out chips of the named sources of pipelines/stylecolor.yaml.

    (The catalogue's val chips, which carry no style name, are left out.)
    """
    import torch

    from geocolor.train.config import load_config
    from geocolor.train.data import ChipData
    from geocolor.train.evaluation import predict_chips

    cfg = load_config(REPO / "pipelines" / "stylecolor.yaml", ["data.tile=256"])
    data = ChipData(cfg.data)
    styles = {s.path.rsplit("/", 1)[-1]: s.style for s in cfg.data.sources}
    keep = [i for i, n in enumerate(data.test_names) if styles.get(n.split("@")[0])]
    chips, names = [data.test_chips[i] for i in keep], [data.test_names[i] for i in keep]
    era = [styles[n.split("@")[0]] for n in names]
    pix2pix, styled = load(DEFAULT_MODEL, device="cpu"), load(stylecolor, device="cpu")
    named = styled.metadata["style"]["named"]  # the codes that condition the model (learned, when it learned them)
    stats = styled.metadata["style"].get("named_stats") or named  # the palettes the names stand for

    def matched(pred: torch.Tensor, era_name: str) -> torch.Tensor:
        from geocolor.style.apply import target_from_code

        target = target_from_code(stats[era_name], "era").moments
        out = []
        for ab in pred.numpy():
            a, b = matching_transform(ab_moments(np.moveaxis(ab, 0, -1)), target)
            out.append(apply_transform(ab, a, b, axis=0))
        return torch.from_numpy(np.stack(out))

    runs = {
        "pix2pix (default.pt)": lambda L, e: pix2pix.predict_chroma(L),
        "pix2pix + palette matching to the era": lambda L, e: matched(pix2pix.predict_chroma(L), e),
        "stylecolor, default style": lambda L, e: styled.predict_chroma(L),
        "stylecolor, era style code": lambda L, e: styled.predict_chroma(L, style=named[e]),
        "stylecolor, era code + palette matching": lambda L, e: matched(styled.predict_chroma(L, style=named[e]), e),
    }
    result: dict = {"n_chips": len(chips), "eras": sorted(set(era))}
    for label, predict in runs.items():
        rows = []
        for e in sorted(set(era)):
            idx = [i for i, x in enumerate(era) if x == e]
            group = [chips[i] for i in idx]
            preds = predict_chips(lambda L, e=e, f=predict: f(L, e), group)
            rows += [pixel_metrics(p, t) for p, t in zip(preds, group)]
        result[label] = summarize(rows)
        print(label, result[label], flush=True)
    return result


def markdown(report: dict) -> str:
    lines = ["# `mosaic --style`: evaluation", "", f"Generated by `pipelines/style_eval.py` on {report['date']} "
             f"({report['seconds']:.0f} s on {report['host']}).", "",
             "## Colour consistency between two independently colorized, overlapping sheets", "",
             "Two 280 x 400 px sheets overlapping by 240 rows (60 %), each colorized independently. Mean CIEDE2000 "
             "over the overlap (lower = more consistent), as output and with both at sheet A's L* (colour alone: "
             "each output keeps its own input's lightness); palette distance = 2-Wasserstein distance of each "
             "output's a*b* Gaussian to the reference orthophoto's (sheet A, sheet B).", ""]
    for name, rows in report["sheets"]["scenarios"].items():
        full, colour = rows["truth_overlap_delta_e"]
        lines += [f"### {name}", "", f"True colours of the two sheets' overlap differ by {full:.2f} CIEDE2000 ({colour:.2f} at equal L*).", "",
                  "| model / style | overlap CIEDE2000 | at equal L* | palette distance to reference (A, B) | PSNR to true colours (A, B) |",
                  "|---|---:|---:|---:|---:|"]
        for label, r in rows.items():
            if isinstance(r, dict):
                d = r["palette_distance_to_reference"]
                p = r["psnr_to_truth"]
                lines.append(f"| {label} | {r['overlap_delta_e']:.2f} | {r['overlap_delta_e_same_lightness']:.2f} | {d[0]:.2f}, {d[1]:.2f} "
                             f"| {p[0]:.2f}, {p[1]:.2f} |")
        lines.append("")
    h = report.get("heldout")
    if h:
        lines += ["## Held-out chips (256 px, right 30 % of NAIP + bottom of Yellowstone)", "",
                  f"{h['n_chips']} chips; the era style is the named style of the chip's source (the code the model file holds; palette matching goes to the statistics of its training part).", "",
                  "| predictor | PSNR dB | SSIM | CIEDE2000 |", "|---|---:|---:|---:|"]
        for label, m in h.items():
            if isinstance(m, dict):
                lines.append(f"| {label} | {m['psnr']:.2f} ± {m['psnr_std']:.2f} | {m['ssim']:.4f} | {m['delta_e2000']:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    import platform

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stylecolor", default=str(REPO / "geocolor" / "weights" / "stylecolor.pt"))
    parser.add_argument("--out", default=str(REPO / "pipelines" / "reports" / "style"))
    parser.add_argument("--skip-heldout", action="store_true")
    args = parser.parse_args()
    t0 = time.perf_counter()
    models = {"pix2pix": DEFAULT_MODEL}
    if Path(args.stylecolor).exists():
        models["stylecolor"] = Path(args.stylecolor)
    with tempfile.TemporaryDirectory() as tmp:
        report = {"sheets": sheets_experiment(models, Path(tmp))}
    if not args.skip_heldout and "stylecolor" in models:
        report["heldout"] = heldout_experiment(models["stylecolor"])
    report.update(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), seconds=time.perf_counter() - t0,
                  host=f"{platform.machine()}, torch CPU")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "style_eval.json").write_text(json.dumps(report, indent=1))
    (out / "style_eval.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
