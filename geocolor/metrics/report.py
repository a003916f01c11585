"""The evaluation report: one HTML file that opens offline, its PNGs embedded (and also saved beside it).

Sections: the metric table (mean ± std per method, baselines included), the distribution metrics
(FID / KID / IS / LPIPS with their status, and the network-free a*b* distances and colourfulness
gap), box plots of the per-chip distributions, the worst-k and best-k chips of each model by
CIEDE2000 (input | output | truth), a grid of inputs and outputs where there is no truth (with a
strip of the real colour reference chips in unpaired mode), and the training curves when a run
folder is given.
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from geocolor.files import write_bytes_atomic, write_text_atomic
from geocolor.types import PathLike

if TYPE_CHECKING:
    from geocolor.metrics.evaluate import Evaluation

log = logging.getLogger(__name__)

TABLE_METRICS = (
    "psnr", "ssim", "delta_e2000", "psnr_ab", "ssim_ab", "false_colour", "colourfulness", "colourfulness_diff",
    "colourfulness_ratio", "lpips",
)
GAP = 4


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _fig_png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    _pyplot().close(fig)
    return buf.getvalue()


def _array_png(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _img_tag(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}" if abs(v) < 10 else f"{v:.2f}"


def table_columns(figures: dict[str, Any]) -> list[str]:
    """The per-chip metrics some method has (colourfulness alone where there is no truth)."""
    return [m for m in TABLE_METRICS if any(m in d["summary"] for d in figures["methods"].values())]


def metric_table(figures: dict[str, Any]) -> str:
    """An HTML table: one row per method, ``mean ± std`` per metric."""
    methods = figures["methods"]
    cols = table_columns(figures)
    head = "".join(f"<th>{c}</th>" for c in cols)
    rows = []
    for name, d in methods.items():
        s = d["summary"]
        cells = "".join(f"<td>{_fmt(s.get(c))} ± {_fmt(s.get(c + '_std'))}</td>" if c in s else "<td>–</td>" for c in cols)
        rows.append(f"<tr><th>{html.escape(name)} <small>({d['kind']})</small></th>{cells}</tr>")
    for label in ("truth", "reference"):
        ref = figures.get(label) or {}
        if ref:
            cells = "".join(f"<td>{_fmt(ref['colourfulness'])} ± {_fmt(ref['colourfulness_std'])}</td>"
                            if c == "colourfulness" else "<td></td>" for c in cols)
            rows.append(f"<tr><th>{label}</th>{cells}</tr>")
    return f'<table id="metrics"><tr><th>method</th>{head}</tr>{"".join(rows)}</table>'


def distribution_lines(figures: dict[str, Any]) -> str:
    """One line per distribution metric: its status, its value per method, and what it means."""
    items = []
    notes = figures.get("distribution_metrics", {})
    for key, entry in figures["distribution"].items():
        vals = ", ".join(f"{html.escape(m)} {_fmt(v)}" for m, v in entry.get("values", {}).items())
        note = f" <small>({html.escape(notes[key])})</small>" if key in notes else ""
        items.append(f"<li><b>{key.upper()}</b>: {html.escape(entry['status'])}{': ' + vals if vals else ''}{note}</li>")
    return '<ul id="distribution">' + "".join(items) + "</ul>"


def box_plots(figures: dict[str, Any]) -> bytes | None:
    """One panel per metric, one box per method, over the per-chip values (infinite PSNRs left out)."""
    methods = figures["methods"]
    metrics = table_columns(figures)
    if not metrics:
        return None
    plt = _pyplot()
    cols = min(4, len(metrics))
    rows = -(-len(metrics) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.8 * rows), squeeze=False)
    for ax in axes.flat[len(metrics):]:
        ax.set_visible(False)
    for ax, metric in zip(axes.flat, metrics):
        data, labels = [], []
        for name, d in methods.items():
            vals = [r[metric] for r in d["per_chip"] if isinstance(r.get(metric), float)]
            if vals:
                data.append(vals)
                labels.append(name)
        ax.boxplot(data)
        ax.set_xticks(range(1, len(labels) + 1), labels, rotation=30, ha="right", fontsize=10)
        ax.set_title(metric, fontsize=13)
    fig.tight_layout()
    return _fig_png(fig)


def _strip(images: list[np.ndarray]) -> np.ndarray:
    """Images side by side with a white gap (gray images become RGB)."""
    rgb = [np.repeat(i[..., None], 3, axis=-1) if i.ndim == 2 else i for i in images]
    h = max(i.shape[0] for i in rgb)
    parts: list[np.ndarray] = []
    for img in rgb:
        pad = np.full((h, img.shape[1], 3), 255, np.uint8)
        pad[: img.shape[0]] = img
        parts += [pad, np.full((h, GAP, 3), 255, np.uint8)]
    return np.concatenate(parts[:-1], axis=1)


def _stack(rows: list[np.ndarray]) -> np.ndarray:
    w = max(r.shape[1] for r in rows)
    parts: list[np.ndarray] = []
    for r in rows:
        pad = np.full((r.shape[0], w, 3), 255, np.uint8)
        pad[:, : r.shape[1]] = r
        parts += [pad, np.full((GAP, w, 3), 255, np.uint8)]
    return np.concatenate(parts[:-1], axis=0)


def ranked_chips(result: Evaluation, method: str, k: int) -> dict[str, list[int]]:
    """Indices of the k worst and k best chips of ``method`` by CIEDE2000."""
    rows = result.figures["methods"][method]["per_chip"]
    if not rows or "delta_e2000" not in rows[0]:
        return {}
    order = [int(i) for i in np.argsort([r["delta_e2000"] for r in rows])]
    k = min(k, len(order))
    return {"worst": order[::-1][:k], "best": order[:k]}


def chip_grid(result: Evaluation, method: str, indices: list[int]) -> np.ndarray:
    """Rows of input | output (| truth) for the chips at ``indices``."""
    rows = []
    for i in indices:
        s = result.samples[i]
        parts = [s.gray, result.outputs[method][i]] + ([s.truth] if s.truth is not None else [])
        rows.append(_strip(parts))
    return _stack(rows)


def training_curves(run_dir: Path) -> list[tuple[str, bytes]]:
    """The run's loss curves (``losses.png``) and its held-out CIEDE2000 over steps (``metrics.jsonl``)."""
    out = []
    if (run_dir / "losses.png").is_file():
        out.append(("losses", (run_dir / "losses.png").read_bytes()))
    jsonl = run_dir / "metrics.jsonl"
    if jsonl.is_file():
        recs = [json.loads(line) for line in jsonl.read_text().splitlines() if line.strip()]
        if recs:
            plt = _pyplot()
            fig, ax = plt.subplots(figsize=(6, 3.2))
            for name in ("model", "gray", "mean_color"):
                pts = [(r["step"], r[name]["delta_e2000"]) for r in recs if "delta_e2000" in r.get(name, {})]
                if pts:
                    ax.plot(*zip(*pts), marker="o", label=name)
            ax.set_xlabel("step")
            ax.set_ylabel("held-out CIEDE2000")
            ax.legend()
            fig.tight_layout()
            out.append(("heldout_delta_e", _fig_png(fig)))
    if not out:
        log.warning("%s has no losses.png or metrics.jsonl; no training curves in the report", run_dir)
    return out


CSS = ("body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:13px}img{max-width:100%}")


def write_report(result: Evaluation, out: PathLike, run_dir: PathLike | None = None, k: int = 4) -> Path:
    """Write ``report.html`` (self-contained) and its PNGs into ``out``; return the HTML path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    fig = result.figures
    pngs: list[tuple[str, str, bytes]] = []  # (file stem, title, data)
    boxes = box_plots(fig)
    if boxes is not None:
        pngs.append(("boxplots", "Per-chip distributions", boxes))
    for name, d in fig["methods"].items():
        if d["kind"] != "model":
            continue
        ranked = ranked_chips(result, name, k)
        for which, idx in ranked.items():
            ids = ", ".join(f"{result.samples[i].id} (ΔE {fig['methods'][name]['per_chip'][i]['delta_e2000']:.1f})" for i in idx)
            pngs.append((f"{which}_{name}", f"{name}: {which} {len(idx)} chips — input | output | truth — {ids}",
                         _array_png(chip_grid(result, name, idx))))
        if not ranked:
            idx = list(range(min(3 * k, len(result.samples))))
            pngs.append((f"grid_{name}", f"{name}: inputs | outputs (no truth)", _array_png(chip_grid(result, name, idx))))
    if result.reference:
        idx = [int(i) for i in np.linspace(0, len(result.reference) - 1, min(3 * k, len(result.reference))).round()]
        strip = _stack([_strip([result.reference[i] for i in idx[j : j + 3]]) for j in range(0, len(idx), 3)])
        pngs.append(("reference", f"Reference: {len(idx)} of {len(result.reference)} real colour chips", _array_png(strip)))
    if run_dir is not None:
        for stem, data in training_curves(Path(run_dir)):
            pngs.append((f"training_{stem}", f"Training: {stem}", data))
    for stem, _, data in pngs:
        write_bytes_atomic(out / f"{stem}.png", data)
    sections = "".join(f"<h2>{html.escape(title)}</h2>{_img_tag(data, stem)}" for stem, title, data in pngs)
    legend = "".join(f"<li><b>{m}</b>: {html.escape(t)}</li>" for m, t in fig["metrics"].items() if m in table_columns(fig))
    body = (f"<h1>geocolor evaluation</h1><p>{html.escape(fig['data'])} — {fig['mode']}, {fig['n_chips']} chips; "
            f"mean colour a*b* = ({fig['ab_mean'][0]:.1f}, {fig['ab_mean'][1]:.1f}) from {html.escape(fig['ab_mean_source'])}</p>"
            + (f"<p>Compared with real colour reference chips: {html.escape(fig['reference']['source'])} "
               f"({fig['reference']['n_chips']} chips)</p>" if fig.get("reference") else "")
            + f"<h2>Metrics (mean ± std over chips)</h2>{metric_table(fig)}<ul>{legend}</ul>"
            f"<h2>Distribution metrics</h2>{distribution_lines(fig)}{sections}")
    page = f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>geocolor evaluation</title><style>{CSS}</style></head><body>{body}</body></html>'
    path = out / "report.html"
    write_text_atomic(path, page)
    return path
