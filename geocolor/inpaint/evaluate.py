"""Scoring inpainting: PSNR, SSIM and mean L2 over the hole and over the whole image, against baselines.

Images are float arrays in [0, 1], (H, W) gray or (H, W, C) colour; ``hole`` is (H, W) bool. SSIM
over the hole is the mean of the full-image SSIM map on the hole's pixels (each value looks at its
7x7 neighbourhood). ``biharmonic`` is scikit-image's classical ``inpaint_biharmonic``, computed in
the same run as the models so the comparison is like for like. ``evaluate_models`` scores model
files and the baseline on the same chips and masks; ``write_report`` writes a JSON and a markdown table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from geocolor.files import write_json_atomic, write_text_atomic
from geocolor.metrics.pixel import summarize
from geocolor.types import PathLike

log = logging.getLogger(__name__)

Filler = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (N, H, W, C) images, (N, H, W) holes -> filled


def _psnr(mse: float) -> float:
    return float(10.0 * np.log10(1.0 / mse)) if mse > 0 else 100.0


def fill_metrics(pred: np.ndarray, truth: np.ndarray, hole: np.ndarray) -> dict[str, float]:
    """PSNR (dB, peak 1), SSIM and mean squared error (L2) of ``pred`` vs ``truth``, in the hole and overall."""
    from skimage.metrics import structural_similarity

    pred, truth = pred.astype(np.float64), truth.astype(np.float64)
    sq = (pred - truth) ** 2
    if sq.ndim == 3:
        sq = sq.mean(axis=-1)
    _, smap = structural_similarity(truth, pred, data_range=1.0, full=True, channel_axis=-1 if truth.ndim == 3 else None)
    if smap.ndim == 3:
        smap = smap.mean(axis=-1)
    l2_hole, l2_image = float(sq[hole].mean()), float(sq.mean())
    return {
        "psnr_hole": _psnr(l2_hole), "ssim_hole": float(smap[hole].mean()), "l2_hole": l2_hole,
        "psnr_image": _psnr(l2_image), "ssim_image": float(smap.mean()), "l2_image": l2_image,
    }


def biharmonic(images: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """scikit-image's biharmonic inpainting of each image (N, H, W, C) in [0, 1] inside its hole (N, H, W)."""
    from skimage.restoration import inpaint_biharmonic

    out = np.empty_like(images)
    for i, (img, hole) in enumerate(zip(images, holes)):
        out[i] = inpaint_biharmonic(img, hole, channel_axis=-1)
    return np.clip(out, 0.0, 1.0)


def network_filler(net: Any, device: Any = "cpu", batch: int = 8) -> Filler:
    """A ``Filler`` from an inpainting generator (eval mode; only hole pixels change)."""
    import torch

    from geocolor.inpaint.model import encode_image

    def fill(images: np.ndarray, holes: np.ndarray) -> np.ndarray:
        net.eval()
        out = []
        with torch.inference_mode():
            for i in range(0, len(images), batch):
                img = torch.from_numpy(np.ascontiguousarray(images[i : i + batch].transpose(0, 3, 1, 2))).float().to(device)
                hole = torch.from_numpy(holes[i : i + batch, None]).float().to(device)
                pred = ((net(encode_image(img, hole)).float() + 1.0) * 0.5).clamp(0.0, 1.0)
                out.append((hole * pred + (1.0 - hole) * img).cpu().numpy().transpose(0, 2, 3, 1))
        return np.concatenate(out)

    return fill


def thin_split_filler(network: Filler, thin: float = 3.0) -> Filler:
    """What ``geocolor inpaint`` does: thin holes (every pixel within ``thin`` px of a known one) by
    biharmonic interpolation, the rest by ``network``."""
    from geocolor.inpaint.classical import biharmonic_fill
    from geocolor.inpaint.engine import fillable

    def fill(images: np.ndarray, holes: np.ndarray) -> np.ndarray:
        thin_holes = np.stack([fillable(h, thin) for h in holes])
        out = network(images, holes & ~thin_holes)
        for i, t in enumerate(thin_holes):
            if t.any():
                out[i] = np.moveaxis(biharmonic_fill(np.moveaxis(out[i], -1, 0), t), 0, -1)
        return out

    return fill


def self_check_filler(network: Filler, method: str = "auto", thin: float = 3.0) -> Filler:
    """What ``geocolor inpaint --method METHOD`` does on one window: thin holes by biharmonic interpolation,
    the others by ``method`` (auto: the per-hole self-check of ``geocolor.inpaint.selfcheck``)."""
    from geocolor.inpaint.classical import biharmonic_fill
    from geocolor.inpaint.engine import fillable
    from geocolor.inpaint.selfcheck import self_checked_fill

    def fill(images: np.ndarray, holes: np.ndarray) -> np.ndarray:
        out = np.empty_like(images)
        for i, (img, hole) in enumerate(zip(images, holes)):
            bands = np.moveaxis(img, -1, 0)
            thin_holes = fillable(hole, thin) if thin > 0 else np.zeros_like(hole)

            def net(x: np.ndarray, h: np.ndarray) -> np.ndarray:
                return np.moveaxis(network(np.moveaxis(x, 0, -1)[None], h[None])[0], -1, 0)

            filled, _, _, _ = self_checked_fill(bands, hole, hole & ~thin_holes, net, method)
            if thin_holes.any():
                filled = biharmonic_fill(filled, thin_holes)
            out[i] = np.moveaxis(filled, 0, -1)
        return out

    return fill


def score(fill: Filler, images: np.ndarray, holes: np.ndarray) -> tuple[dict[str, float], np.ndarray, float]:
    """(mean +- std of the metrics, the filled images, seconds) for one filler on (N, H, W, C) images."""
    started = time.perf_counter()
    filled = fill(images, holes)
    seconds = time.perf_counter() - started
    rows = [fill_metrics(p.squeeze(-1) if p.shape[-1] == 1 else p, t.squeeze(-1) if t.shape[-1] == 1 else t, h)
            for p, t, h in zip(filled, images, holes)]
    return summarize(rows), filled, seconds


def chips_to_images(chips: list[np.ndarray], channels: int) -> np.ndarray:
    """uint8 RGB chips -> (N, H, W, channels) float32 in [0, 1]: the sRGB gray of their L* for 1 channel."""
    from geocolor.color import lightness_to_gray, rgb_to_lab

    rgb = np.stack(chips).astype(np.float32) / 255.0
    if channels == 3:
        return rgb
    return lightness_to_gray(rgb_to_lab(rgb)[..., :1]).astype(np.float32)


def evaluate_models(models: dict[str, PathLike], images: np.ndarray, mask_sets: dict[str, np.ndarray],
                    device: str = "cpu", engine_split: tuple[str, ...] = ()) -> dict[str, Any]:
    """Score each model file and the biharmonic baseline on every mask set; same images, same holes.

    Models named in ``engine_split`` are also scored as ``geocolor inpaint`` runs them (thin holes
    biharmonic, the rest by the network), under ``"<name> + thin biharmonic"``.
    """
    from geocolor.inpaint.model import load_inpainter

    fillers: dict[str, Filler] = {"biharmonic": biharmonic}
    for name, path in models.items():
        inp = load_inpainter(path, device)
        fillers[name] = network_filler(inp.net, inp.device)
        if name in engine_split:
            fillers[f"{name} + thin biharmonic"] = thin_split_filler(fillers[name])
    results: dict[str, Any] = {"n_images": int(len(images)), "size": list(images.shape[1:3]), "mask_sets": {}}
    for set_name, holes in mask_sets.items():
        entry: dict[str, Any] = {"hole_fraction": float(holes.mean())}
        for name, fill in fillers.items():
            metrics, _, seconds = score(fill, images, holes)
            entry[name] = {**metrics, "seconds": seconds}
            log.info("%s / %s: hole PSNR %.2f dB, SSIM %.3f", set_name, name, metrics["psnr_hole"], metrics["ssim_hole"])
        results["mask_sets"][set_name] = entry
    return results


COLUMNS = ("psnr_hole", "ssim_hole", "l2_hole", "psnr_image", "ssim_image", "l2_image")


def markdown_table(results: dict[str, Any]) -> str:
    """One table per mask set: a row per method, hole and whole-image figures (L2 as mean squared error x 100).

    PSNR columns are means of per-chip PSNRs; the last column is the PSNR of the mean hole L2 over all chips.
    """
    lines = []
    for set_name, entry in results["mask_sets"].items():
        lines += [f"### {set_name} (holes cover {100 * entry['hole_fraction']:.1f} % of the pixels)", "",
                  "| method | PSNR hole (dB) | SSIM hole | mean L2 hole (%) | PSNR image (dB) | SSIM image | mean L2 image (%) "
                  "| PSNR of the mean hole L2 (dB) |",
                  "|---|---|---|---|---|---|---|---|"]
        for name, m in entry.items():
            if not isinstance(m, dict):
                continue
            cells = [f"{m[c]:.2f} ± {m[c + '_std']:.2f}" if c.startswith("psnr") else
                     f"{100 * m[c]:.3f}" if c.startswith("l2") else f"{m[c]:.4f}" for c in COLUMNS]
            cells.append(f"{_psnr(m['l2_hole']):.2f}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_report(results: dict[str, Any], out_dir: PathLike, preamble: str = "") -> tuple[Path, Path]:
    """``results.json`` and ``results.md`` under ``out_dir`` (each written to a temp file, then renamed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = out / "results.json", out / "results.md"
    write_json_atomic(paths[0], results, allow_nan=True)
    write_text_atomic(paths[1], preamble + markdown_table(results))
    return paths
