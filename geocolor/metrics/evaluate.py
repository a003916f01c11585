"""Evaluate colorization models (or a made output) on chips with truth, against two baselines.

Each method gives one sRGB output per chip: a model colours the chip's gray input (its L* kept,
its a*b* predicted, as mosaic does); the baselines keep the same L* with a*b* = 0 (``gray``), the
training data's mean a*b* (``mean_color``) or, with truth, each chip's own mean a*b*
(``oracle_mean_color``: a flat image of the truth's mean colour, which a model must beat to have
learned where colours go), so every figure has a floor. Per chip we measure PSNR, SSIM and mean
CIEDE2000 in sRGB, PSNR and SSIM on a*b* (the models' Lab colour space), the Hasler–Süsstrunk
colourfulness, its difference and its ratio to the truth, the false-colour rate (near-gray truth
painted with strong chroma, ``geocolor.metrics.chroma``), and LPIPS when its weights are on disk;
the summary gives mean ± std (chips without near-gray pixels have no false-colour rate). FID, KID and IS are added when Inception weights are on disk,
else marked skipped (``features``). Against the truth, or in unpaired mode against real colour
reference chips, the a*b* distribution distances of ``colour_stats`` and the colourfulness gap are
always given, since they need no network.

``evaluate`` returns an ``Evaluation`` (the JSON-able figures plus the images, for the report);
``run`` also writes ``metrics.json`` (atomically) and ``report.html`` into an output folder.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from geocolor import __version__
from geocolor.color import input_lab, lab_to_uint8, mean_chroma
from geocolor.files import write_json_atomic
from geocolor.metrics.chroma import chroma_metrics, false_colour_counts, oracle_mean_ab
from geocolor.metrics.colour_stats import ab_distances
from geocolor.metrics.colourfulness import colourfulness, colourfulness_metrics
from geocolor.metrics.features import FeatureExtractor, default_extractor, distribution_metrics
from geocolor.metrics.inputs import EvalSet, Sample
from geocolor.metrics.lpips import LPIPS, load_lpips, lpips_pairs
from geocolor.metrics.pixel import lab_metrics, pixel_metrics, summarize
from geocolor.models.colorizer import Colorizer
from geocolor.models.predict import predict_chips
from geocolor.types import PathLike

log = logging.getLogger(__name__)

Predictor = Callable[[torch.Tensor], torch.Tensor]
BASELINES = ("gray", "mean_color", "oracle_mean_color")
METRICS = {
    "psnr": "PSNR in sRGB, dB (higher is better; identical chips are capped at 100 in the mean)",
    "ssim": "SSIM in sRGB (higher is better)",
    "delta_e2000": "mean CIEDE2000 colour error (lower is better)",
    "psnr_ab": "PSNR on a*b* (Lab, the models' colour space), peak 220 (higher is better)",
    "ssim_ab": "SSIM on a*b*, data range 220 (higher is better)",
    "colourfulness": "Hasler–Süsstrunk colourfulness M (truth's is given for reference)",
    "colourfulness_diff": "colourfulness minus the truth's (near 0 is best; < 0 is washed out)",
    "colourfulness_ratio": "colourfulness over the truth's (1 is right; < 0.8 washed out, > 1.25 gaudy)",
    "false_colour": "share of near-gray truth pixels (C*ab < 10) painted with C*ab > 20 (lower is better; pink roads)",
    "lpips": "LPIPS perceptual distance to the truth (lower is better; AlexNet or VGG, needs its weights on disk)",
}
DISTRIBUTION = {
    "fid": "Fréchet Inception Distance to the truth / reference chips (lower is better)",
    "kid": "Kernel Inception Distance (unbiased MMD², lower is better; fairer than FID on few chips)",
    "is": "Inception Score of the outputs (higher is better; made for ImageNet objects, weak on aerial views)",
    "lpips": "mean LPIPS to the truth",
    "ab_w1": "mean over a* and b* of the Wasserstein-1 distance of pooled pixels to the truth / reference (Lab units)",
    "ab_hist_tv": "total-variation distance of the 2-D a*b* histograms to the truth / reference (0..1)",
    "colourfulness_gap": "mean colourfulness of the outputs minus that of the truth / reference chips",
    "false_colour_pooled": "false-colour rate over all near-gray truth pixels of all chips together",
}


@dataclass
class Evaluation:
    """The figures (``figures``, JSON-able) and the images the report shows."""

    figures: dict[str, Any]
    samples: list[Sample]
    outputs: dict[str, list[np.ndarray]]
    reference: list[np.ndarray] = field(default_factory=list)


def score(pred: np.ndarray, truth: np.ndarray | None) -> dict[str, float]:
    """All per-chip metrics of one output (only colourfulness when there is no truth)."""
    if truth is None:
        return colourfulness_metrics(pred, None)
    return {
        **pixel_metrics(pred, truth), **lab_metrics(pred, truth), **colourfulness_metrics(pred, truth), **chroma_metrics(pred, truth)
    }


def padded_predictor(translator: Colorizer) -> Predictor:
    """``translator.predict_chroma`` on chips of any size: L* is edge-padded to the model's tile multiple."""
    multiple = int(translator.tile_multiple)

    def predict(lightness: torch.Tensor) -> torch.Tensor:
        h, w = lightness.shape[-2:]
        ph, pw = -h % multiple, -w % multiple
        x = torch.nn.functional.pad(lightness, (0, pw, 0, ph), mode="replicate") if ph or pw else lightness
        return translator.predict_chroma(x)[..., :h, :w]

    return predict


def _colour_inputs(samples: Sequence[Sample]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(truth-or-gray RGB chips, gray chips) as ``predict_chips`` wants them."""
    grays = [s.gray for s in samples]
    chips = [s.truth if s.truth is not None else np.repeat(s.gray[..., None], 3, axis=-1) for s in samples]
    return chips, grays


def shape_groups(samples: Sequence[Sample]) -> list[list[Sample]]:
    """Consecutive samples of one size (chips stack into batches; plain images vary in size)."""
    groups: list[list[Sample]] = []
    for s in samples:
        if groups and groups[-1][0].gray.shape == s.gray.shape:
            groups[-1].append(s)
        else:
            groups.append([s])
    return groups


def baseline_outputs(samples: Sequence[Sample], ab_mean: tuple[float, float]) -> dict[str, list[np.ndarray]]:
    """Flat-chroma outputs at each chip's own L*: gray, the training mean colour and (with truth) the oracle."""
    from geocolor.color import rgb_to_lab

    with_truth = bool(samples) and all(s.truth is not None for s in samples)
    out: dict[str, list[np.ndarray]] = {"gray": [], "mean_color": [], **({"oracle_mean_color": []} if with_truth else {})}
    for group in shape_groups(samples):
        chips, grays = _colour_inputs(group)
        for name, ab in (("gray", (0.0, 0.0)), ("mean_color", ab_mean)):
            lab = input_lab(chips, grays)
            lab[..., 1], lab[..., 2] = ab
            out[name] += [lab_to_uint8(x) for x in lab]
        if with_truth:
            lab = input_lab(chips, grays)
            for i, truth in enumerate(s.truth for s in group if s.truth is not None):  # every sample has one
                lab[i, ..., 1], lab[i, ..., 2] = oracle_mean_ab(np.asarray(rgb_to_lab(truth.astype(np.float32) / 255.0)))
            out["oracle_mean_color"] += [lab_to_uint8(x) for x in lab]
    return out


def model_outputs(samples: Sequence[Sample], translator: Colorizer, desc: str = "colour", chunk: int = 32) -> list[np.ndarray]:
    """The model's colouring of each sample's gray input (L* kept), with a progress bar on a terminal."""
    from tqdm import tqdm

    out: list[np.ndarray] = []
    with tqdm(total=len(samples), desc=desc, unit="chip", disable=None, leave=False) as bar:
        for group in shape_groups(samples):
            for i in range(0, len(group), chunk):
                chips, grays = _colour_inputs(group[i : i + chunk])
                out += predict_chips(padded_predictor(translator), chips, grays)
                bar.update(len(chips))
    return out


def choose_ab_mean(data: EvalSet, translators: Mapping[str, Colorizer]) -> tuple[tuple[float, float], str]:
    """The mean-colour baseline's a*b*: the data's train split, else a model's metadata, else the truth's."""
    if data.train_colours:
        return mean_chroma(data.train_colours), "mean a*b* of the dataset's train split"
    for name, t in translators.items():
        ab = t.metadata.get("train_ab_mean")
        if ab is not None:
            return (float(ab[0]), float(ab[1])), f"train_ab_mean of model {name!r}"
    truths = [s.truth for s in data.samples if s.truth is not None]
    if truths:
        return mean_chroma(truths), "mean a*b* of the evaluated truth itself (an optimistic floor)"
    if data.reference:
        return mean_chroma(data.reference), "mean a*b* of the colour reference chips"
    return (0.0, 0.0), "no colour data: a*b* = 0"


def _number(v: float) -> float | str | None:
    if math.isnan(v):
        return None
    return v if math.isfinite(v) else ("inf" if v > 0 else "-inf")


def method_figures(rows: list[dict[str, float]], ids: list[str], kind: str) -> dict[str, Any]:
    per_chip = [{"id": i, **{k: _number(v) for k, v in r.items()}} for i, r in zip(ids, rows)]
    return {"kind": kind, "summary": summarize(rows), "per_chip": per_chip}


def model_names(paths: Sequence[PathLike], run_names: Sequence[str | None] | None = None) -> list[str]:
    """Unique display names: each model's run name (from its metadata) when given, else its file stem.

    Clashes get ``-2``, ``-3`` ... (``best``, ``best-2``); baseline names are never reused.
    """
    names: list[str] = []
    for i, p in enumerate(paths):
        stem = (run_names[i] if run_names and run_names[i] else None) or Path(p).stem
        name, n = stem, 2
        while name in names or name in BASELINES:
            name, n = f"{stem}-{n}", n + 1
        names.append(name)
    return names


def colour_distribution(outputs: dict[str, list[np.ndarray]], colour: list[np.ndarray], source: str) -> dict[str, Any]:
    """The network-free entries: a*b* Wasserstein-1 and histogram distance, colourfulness gap (vs ``colour``)."""
    if not colour:
        why = "skipped: no colour truth or --reference to compare with"
        return {key: {"status": why, "values": {}} for key in ("ab_w1", "ab_hist_tv", "colourfulness_gap")}
    dists = {name: ab_distances(imgs, colour) for name, imgs in outputs.items()}
    ref_cf = float(np.mean([colourfulness(c) for c in colour]))
    gap = {name: float(np.mean([colourfulness(i) for i in imgs])) - ref_cf for name, imgs in outputs.items()}
    return {
        "ab_w1": {"status": "ok", "against": source, "values": {n: d["w1_ab"] for n, d in dists.items()},
                  "per_channel": {n: {"a": d["w1_a"], "b": d["w1_b"]} for n, d in dists.items()}},
        "ab_hist_tv": {"status": "ok", "against": source, "values": {n: d["hist_tv"] for n, d in dists.items()}},
        "colourfulness_gap": {"status": "ok", "against": source, "values": gap},
    }


def pooled_false_colour(outputs: dict[str, list[np.ndarray]], truths: list[np.ndarray] | None) -> dict[str, Any]:
    """The false-colour rate of each method over all chips' near-gray truth pixels together."""
    if truths is None:
        return {"status": "skipped: needs the truth", "values": {}}
    values = {}
    for name, imgs in outputs.items():
        counts = np.array([false_colour_counts(p, t) for p, t in zip(imgs, truths)], dtype=np.int64).sum(axis=0)
        values[name] = float(counts[0] / counts[1]) if counts[1] else None
    return {"status": "ok", "values": {k: v for k, v in values.items() if v is not None}}


def add_lpips(rows_by_method: dict[str, list[dict[str, float]]], outputs: dict[str, list[np.ndarray]],
              truths: list[np.ndarray] | None, model: LPIPS | None, reason: str) -> dict[str, Any]:
    """Per-chip LPIPS into each method's rows (when there is truth and a network); the distribution entry."""
    if truths is None:
        return {"status": "skipped: no ground truth (LPIPS compares each output with its own truth)", "values": {}}
    if model is None:
        return {"status": f"skipped: {reason}", "values": {}}
    means = {}
    for name, rows in rows_by_method.items():
        vals = lpips_pairs(model, outputs[name], truths)
        for row, v in zip(rows, vals):
            row["lpips"] = v
        means[name] = float(np.mean(vals))
    return {"status": "ok", "network": f"lpips-{model.net} (v0.1 linear weights)", "values": means}


def _summary_of(images: list[np.ndarray], source: str) -> dict[str, Any]:
    cf = [colourfulness(t) for t in images]
    return {"source": source, "n_chips": len(images), "colourfulness": float(np.mean(cf)), "colourfulness_std": float(np.std(cf))}


def evaluate(
    data: EvalSet,
    translators: Mapping[str, Colorizer] | None = None,
    extractor: FeatureExtractor | None = None,
    extractor_reason: str = "",
    weights_dir: PathLike | None = None,
    lpips: tuple[LPIPS | None, str] | None = None,
) -> Evaluation:
    """Score every model (and, in pair mode, the given outputs) and both baselines on ``data``.

    ``lpips`` is ``(network or None, reason)``; by default it is looked for in ``weights_dir``.
    """
    translators = translators or {}
    ab_mean, ab_source = choose_ab_mean(data, translators)
    outputs: dict[str, list[np.ndarray]] = baseline_outputs(data.samples, ab_mean)
    for name, t in translators.items():
        log.info("colouring %d chips with %s", len(data.samples), name)
        outputs[name] = model_outputs(data.samples, t, desc=f"colour {name}")
    if data.mode == "pair":
        outputs["output"] = [s.output for s in data.samples if s.output is not None]
    ids = [s.id for s in data.samples]
    truths = [s.truth for s in data.samples if s.truth is not None] if data.has_truth else None  # all or none
    paired: list[np.ndarray | None] = list(truths) if truths is not None else [None] * len(ids)
    rows = {name: [score(p, t) for p, t in zip(imgs, paired)] for name, imgs in outputs.items()}
    lpips_model, lpips_reason = lpips if lpips is not None else load_lpips(weights_dir)
    lpips_entry = add_lpips(rows, outputs, truths, lpips_model, lpips_reason)
    methods = {name: method_figures(r, ids, "baseline" if name in BASELINES else "model") for name, r in rows.items()}
    for name, t in translators.items():
        methods[name]["metadata_name"] = t.metadata.get("name")
    colour = data.reference or [s.truth for s in data.samples if s.truth is not None]
    against = f"reference chips ({data.reference_source})" if data.reference else "truth"
    dist = distribution_metrics(outputs, colour, extractor, extractor_reason) if colour else {
        key: {"status": "skipped: no colour truth or --reference to compare with", "values": {}} for key in ("fid", "kid", "is")}
    dist["lpips"] = lpips_entry
    dist.update(colour_distribution(outputs, colour, against))
    dist["false_colour_pooled"] = pooled_false_colour(outputs, truths)
    truth_imgs = [s.truth for s in data.samples if s.truth is not None]
    figures = {
        "geocolor_version": __version__,
        "mode": data.mode,
        "data": data.source,
        "n_chips": len(data.samples),
        "has_truth": data.has_truth,
        "color_space": "lab",  # the key spelling of model files and configs
        "ab_mean": list(ab_mean),
        "ab_mean_source": ab_source,
        "metrics": METRICS,
        "distribution_metrics": DISTRIBUTION,
        "truth": {k: v for k, v in _summary_of(truth_imgs, "truth").items() if k.startswith("colourfulness")} if truth_imgs else {},
        "reference": _summary_of(data.reference, data.reference_source) if data.reference else {},
        "methods": methods,
        "distribution": dist,
    }
    return Evaluation(figures, list(data.samples), outputs, list(data.reference))


def run(
    data: EvalSet,
    model_paths: Sequence[PathLike],
    out: PathLike,
    weights_dir: PathLike | None = None,
    run_dir: PathLike | None = None,
    k: int = 4,
    device: str = "auto",
    extractor: FeatureExtractor | None = None,
    lpips_net: str = "alex",
) -> dict[str, Any]:
    """Load the models, evaluate, write ``metrics.json`` and ``report.html`` into ``out``; return the figures.

    ``lpips_net`` is the LPIPS backbone, ``alex`` (the paper's default) or ``vgg``.
    """
    from geocolor.metrics.report import write_report
    from geocolor.models import load

    loaded = [load(p, device=device) for p in model_paths]
    run_names = [str((getattr(t, "metadata", None) or {}).get("name") or "") or None for t in loaded]
    translators = dict(zip(model_names(model_paths, run_names), loaded))
    reason = ""
    if extractor is None:
        extractor, reason = default_extractor(weights_dir)
    result = evaluate(data, translators, extractor, reason, weights_dir, lpips=load_lpips(weights_dir, lpips_net))
    for name, p in zip(translators, model_paths):
        result.figures["methods"][name]["path"] = str(p)
    out = Path(out)
    write_json_atomic(out / "metrics.json", result.figures)
    write_report(result, out, run_dir=run_dir, k=k)
    log.info("wrote %s and %s", out / "metrics.json", out / "report.html")
    return result.figures
