"""The unseen-ground protocol: colour quality on whole sources that no model trained on.

For every held-out source of a catalogue (role ``test`` by default) a fixed, seeded set of crops is
cut from its files (only windows without nodata, spread over the files). Every method colours the
crops from their own L* (kept, as mosaic keeps it) and is scored against the true colour:

- ``gray``: a*b* = 0;
- ``oracle_mean_color``: each crop's own mean a*b* (a flat image of the truth's mean colour);
- ``training_mean_color``: the training data's mean a*b* (from the first model's metadata);
- one entry per model file;
- ``<model>+ref``: the model's colours palette-matched (as ``mosaic --style REF`` does) to the true
  colours of the *other* crops of the same source: what a user gets by giving a modern colour
  orthophoto of the surrounding area as the style reference; the crop's own colours are never used.

Figures per source: mean PSNR, SSIM and CIEDE2000 over crops; the false-colour rate pooled over the
crops' near-gray pixels; the colourfulness ratio (mean output colourfulness over the truth's). Each
model gets the issue's targets checked: PSNR >= oracle + 1 dB, CIEDE2000 <= oracle - 2, false colour
<= 2 %, colourfulness ratio in [0.8, 1.25].
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

import numpy as np

from geocolor.metrics.chroma import false_colour_counts, oracle_mean_ab
from geocolor.metrics.colourfulness import colourfulness
from geocolor.metrics.pixel import pixel_metrics
from geocolor.models.colorizer import Colorizer
from geocolor.quality.catalog import Catalog, CatalogSource

log = logging.getLogger(__name__)

BASELINES = ("gray", "oracle_mean_color", "training_mean_color")
class Targets(TypedDict):
    psnr_over_oracle: float
    delta_e_under_oracle: float
    false_colour_max: float
    colourfulness_ratio: tuple[float, float]


TARGETS: Targets = {
    "psnr_over_oracle": 1.0,  # dB at least
    "delta_e_under_oracle": 2.0,  # CIEDE2000 units at least
    "false_colour_max": 0.02,
    "colourfulness_ratio": (0.8, 1.25),
}


@dataclass
class Crop:
    id: str
    truth: np.ndarray  # H x W x 3 uint8


@dataclass
class SourceResult:
    source: CatalogSource
    crops: list[Crop]
    figures: dict[str, dict[str, float]] = field(default_factory=dict)
    outputs: dict[str, list[np.ndarray]] = field(default_factory=dict)


def crop_size(h: int, w: int, size: int) -> int:
    """The crop side for a raster: ``size``, or the largest multiple of 128 that fits (at least 128)."""
    side = min(size, h, w)
    return max(128, side - side % 128)


def _valid_windows(valid: np.ndarray, side: int) -> list[tuple[int, int]]:
    """Top-left corners of a half-overlapping grid of windows with no nodata pixel."""
    h, w = valid.shape
    out = []
    step = side // 2
    for r in range(0, h - side + 1, step):
        for c in range(0, w - side + 1, step):
            if valid[r : r + side, c : c + side].all():
                out.append((r, c))
    return out


def _read(path: str) -> tuple[np.ndarray, np.ndarray]:
    """The colour raster as the trainer reads it (``geocolor.raster.read_rgb``: nodata zeroed) and its valid
    pixels (no black nodata)."""
    from geocolor.raster import read_rgb

    rgb = read_rgb(path)
    return rgb, rgb.max(axis=-1) > 0  # masked pixels are zero, as are black no-data corners of plain JPEGs


def source_crops(source: CatalogSource, per_source: int = 16, size: int = 512, seed: int = 0) -> list[Crop]:
    """Up to ``per_source`` crops without nodata, taken round-robin over the source's files (seeded)."""
    rng = np.random.default_rng(seed)
    files = list(source.files)
    rng.shuffle(files)
    pools: list[list[Crop]] = []
    for path in files[: per_source * 2]:
        rgb, valid = _read(path)
        h, w = rgb.shape[:2]
        side = crop_size(h, w, size)
        corners = _valid_windows(valid, side)
        rng.shuffle(corners)
        name = path.rsplit("/", 1)[-1]
        pools.append([Crop(f"{name}:{r},{c}", rgb[r : r + side, c : c + side].copy()) for r, c in corners[:per_source]])
    crops: list[Crop] = []
    while len(crops) < per_source and any(pools):
        for pool in pools:
            if pool and len(crops) < per_source:
                crops.append(pool.pop(0))
    return crops


def _flat(crop: Crop, ab: tuple[float, float]) -> np.ndarray:
    from geocolor.color import lab_to_uint8, rgb_to_lab

    lab = np.asarray(rgb_to_lab(crop.truth.astype(np.float32) / 255.0)).copy()
    lab[..., 1], lab[..., 2] = ab
    return lab_to_uint8(lab)


def _oracle(crop: Crop) -> np.ndarray:

    return _flat(crop, oracle_mean_ab(_lab(crop.truth)))


def model_colour(translator: Colorizer) -> Callable[[Crop], np.ndarray]:
    """A crop coloured by a model from the crop's own L* (L* kept, a*b* predicted)."""
    from geocolor.metrics.evaluate import padded_predictor
    from geocolor.models.predict import predict_chips

    predict = padded_predictor(translator)
    return lambda crop: predict_chips(predict, [crop.truth])[0]


def _lab(rgb: np.ndarray) -> np.ndarray:
    from geocolor.color import rgb_to_lab

    return np.asarray(rgb_to_lab(rgb.astype(np.float32) / 255.0))


def reference_matched(outputs: Sequence[np.ndarray], crops: Sequence[Crop]) -> list[np.ndarray]:
    """Each output palette-matched to the pooled true a*b* of all the other crops (leave-one-out reference)."""
    from geocolor.color import lab_to_uint8
    from geocolor.style.palette import ab_moments, apply_to_lab, matching_transform, pool_moments

    truth = [ab_moments(_lab(c.truth)[..., 1:]) for c in crops]
    out = []
    for i, (pred, crop) in enumerate(zip(outputs, crops)):
        lab = _lab(pred)
        a, b = matching_transform(ab_moments(lab[..., 1:]), pool_moments([m for j, m in enumerate(truth) if j != i]))
        matched = apply_to_lab(lab, a, b)
        matched[..., 0] = _lab(crop.truth)[..., 0]
        out.append(lab_to_uint8(matched))
    return out


def figures_of(outputs: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> dict[str, float]:
    """A method's figures on one source: per-crop means, pooled false colour, colourfulness ratio."""
    rows = [pixel_metrics(o, t) for o, t in zip(outputs, truths)]
    counts = np.array([false_colour_counts(o, t) for o, t in zip(outputs, truths)], dtype=np.int64).sum(axis=0)
    truth_cf = float(np.mean([colourfulness(t) for t in truths]))
    out_cf = float(np.mean([colourfulness(o) for o in outputs]))
    return {
        "psnr": float(np.mean([min(r["psnr"], 100.0) for r in rows])),
        "ssim": float(np.mean([r["ssim"] for r in rows])),
        "delta_e2000": float(np.mean([r["delta_e2000"] for r in rows])),
        "false_colour": float(counts[0] / counts[1]) if counts[1] else float("nan"),
        "near_gray_share": float(counts[1] / sum(t.shape[0] * t.shape[1] for t in truths)),
        "colourfulness_ratio": out_cf / truth_cf if truth_cf > 0 else float("nan"),
    }


def targets_met(model: dict[str, float], oracle: dict[str, float]) -> dict[str, bool]:
    """Which of the issue's targets a model meets on one source (NaN false colour counts as met)."""
    lo, hi = TARGETS["colourfulness_ratio"]
    fc = model["false_colour"]
    return {
        "psnr": model["psnr"] >= oracle["psnr"] + TARGETS["psnr_over_oracle"],
        "delta_e2000": model["delta_e2000"] <= oracle["delta_e2000"] - TARGETS["delta_e_under_oracle"],
        "false_colour": not fc > TARGETS["false_colour_max"],
        "colourfulness_ratio": lo <= model["colourfulness_ratio"] <= hi,
    }


def evaluate_sources(
    cat: Catalog,
    models: Mapping[str, Colorizer],
    roles: tuple[str, ...] = ("test",),
    per_source: int = 16,
    size: int = 512,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> list[SourceResult]:
    """Score the baselines and every model (name -> loaded translator) on each held-out source."""
    train_ab = (0.0, 0.0)
    for t in models.values():
        ab = t.metadata.get("train_ab_mean")
        if ab is not None:
            train_ab = (float(ab[0]), float(ab[1]))
            break
    colourers: dict[str, Callable[[Crop], np.ndarray]] = {
        "gray": lambda c: _flat(c, (0.0, 0.0)),
        "oracle_mean_color": _oracle,
        "training_mean_color": lambda c: _flat(c, train_ab),
        **{name: model_colour(t) for name, t in models.items()},
    }
    results = []
    for source in cat.by_role(*roles):
        crops = source_crops(source, per_source, size, seed)
        if not crops:
            log.warning("%s: no window without nodata; skipped", source.name)
            continue
        if progress:
            progress(f"{source.name}: {len(crops)} crops")
        res = SourceResult(source, crops)
        truths = [c.truth for c in crops]
        for name, colour in colourers.items():
            res.outputs[name] = [colour(c) for c in crops]
            res.figures[name] = figures_of(res.outputs[name], truths)
        if len(crops) > 1:
            for name in models:
                res.outputs[f"{name}+ref"] = reference_matched(res.outputs[name], crops)
                res.figures[f"{name}+ref"] = figures_of(res.outputs[f"{name}+ref"], truths)
        results.append(res)
    return results


def _fmt(v: float, pct: bool = False) -> str:
    if v != v:  # NaN
        return "–"
    return f"{100 * v:.1f} %" if pct else f"{v:.2f}"


def source_table(res: SourceResult, models: Sequence[str]) -> str:
    """One markdown table: a row per method, the targets a model misses marked with ✗."""
    oracle = res.figures["oracle_mean_color"]
    lines = [
        f"### {res.source.name} ({len(res.crops)} crops; {res.source.cover}; {res.source.gsd:g} m)",
        "",
        "| method | PSNR dB | SSIM | CIEDE2000 | false colour | colourfulness ratio | targets met |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, f in res.figures.items():
        met = ""
        if name in models or name.removesuffix("+ref") in models:
            ok = targets_met(f, oracle)
            met = f"{sum(ok.values())}/4" + (" (" + ", ".join(k for k, v in ok.items() if not v) + " missed)" if not all(ok.values()) else "")
        lines.append(
            f"| {name} | {_fmt(f['psnr'])} | {f['ssim']:.3f} | {_fmt(f['delta_e2000'])} | {_fmt(f['false_colour'], True)} "
            f"| {_fmt(f['colourfulness_ratio'])} | {met} |"
        )
    return "\n".join(lines)


def judged(results: Sequence[SourceResult], models: Sequence[str]) -> list[str]:
    """The judged rows: each model and, where computed, its reference-matched variant."""
    names = list(results[0].figures) if results else []
    return [n for n in names if n.removesuffix("+ref") in models]


def summary_table(results: Sequence[SourceResult], model: str) -> str:
    """One row per source for one model: its margins over the oracle mean colour and its colour errors."""
    lines = [
        f"| source ({model}) | PSNR − oracle dB | oracle − CIEDE2000 | false colour | colourfulness ratio | targets met |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for res in results:
        f, o = res.figures[model], res.figures["oracle_mean_color"]
        ok = targets_met(f, o)
        lines.append(
            f"| {res.source.name} | {f['psnr'] - o['psnr']:+.2f} | {o['delta_e2000'] - f['delta_e2000']:+.2f} "
            f"| {_fmt(f['false_colour'], True)} | {_fmt(f['colourfulness_ratio'])} | {sum(ok.values())}/4 |"
        )
    return "\n".join(lines)


def to_json(results: Sequence[SourceResult], models: Sequence[str]) -> dict[str, Any]:
    def clean(d: dict[str, float]) -> dict[str, float | None]:
        return {k: (None if v != v else v) for k, v in d.items()}

    return {
        "targets": {k: list(v) if isinstance(v, tuple) else v for k, v in TARGETS.items()},
        "sources": [
            {
                "source": r.source.name,
                "licence": r.source.licence,
                "gsd_m": r.source.gsd,
                "crops": [c.id for c in r.crops],
                "figures": {k: clean(v) for k, v in r.figures.items()},
                "targets_met": {m: targets_met(r.figures[m], r.figures["oracle_mean_color"])
                                for m in r.figures if m.removesuffix("+ref") in models},
            }
            for r in results
        ],
    }
