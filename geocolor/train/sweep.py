"""A sweep: train several configs into one folder, then tabulate their held-out figures.

``run_sweep(configs, out)`` trains each config as ``out/<name>`` (the config's ``name``; ``out_dir``
is replaced by ``out``, ``overrides`` apply to every config). It is resumable: a run whose
``last.pt`` already covers the config's ``steps`` is skipped, a run with a checkpoint but no finished
export is resumed (``--resume``), anything else is trained from scratch. A config that fails (bad
data, a non-finite loss) is recorded as failed and the sweep goes on.

Then each run's ``best.pt`` metadata (the held-out evaluation the trainer exported with it: PSNR,
SSIM, CIEDE2000 and colourfulness of the model, and the gray and mean-colour baselines on the same
chips) becomes one row of ``out/results.csv`` and ``out/results.md``, sorted by a chosen metric
(best first: lowest CIEDE2000 / |colourfulness difference|, highest PSNR / SSIM).
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from geocolor.errors import ConfigError, GeocolorError, ModelFileError
from geocolor.files import write_text_atomic
from geocolor.types import PathLike

log = logging.getLogger(__name__)

# sortable metric -> True when higher is better
SORT_METRICS = {"delta_e2000": False, "psnr": True, "ssim": True, "colourfulness_diff": False}
COLUMNS = [
    "run", "status", "model", "generator", "gan_mode", "color_space", "steps", "best_step",
    "delta_e2000", "psnr", "ssim", "colourfulness", "colourfulness_diff",
    "gray_delta_e2000", "gray_psnr", "gray_ssim", "mean_color_delta_e2000", "mean_color_psnr", "mean_color_ssim", "n_chips",
]


def run_sweep(
    configs: Sequence[PathLike],
    out: PathLike,
    overrides: Sequence[str] = (),
    sort_by: str = "delta_e2000",
    show_progress: bool = True,
) -> list[dict[str, Any]]:
    """Train (or skip, or resume) every config into ``out``, write results.csv / results.md; return the rows."""
    from geocolor.train.config import load_config

    if sort_by not in SORT_METRICS:
        raise ConfigError(f"cannot sort a sweep by {sort_by!r}; choose one of {', '.join(SORT_METRICS)}")
    out = Path(out)
    cfgs, rows = [], []
    for p in configs:  # a config that does not load is recorded as failed; the others still run
        try:
            cfgs.append(load_config(p, [*overrides, f"out_dir={out}"]))
        except GeocolorError as e:
            log.error("%s cannot be loaded: %s", p, e)
            rows.append({"run": Path(p).stem, "status": f"failed: {e}"})
    names = [c.name for c in cfgs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"several configs share the name {', '.join(dupes)}; each run of a sweep needs its own name")
    out.mkdir(parents=True, exist_ok=True)
    for i, cfg in enumerate(cfgs, 1):
        log.info("sweep %d/%d: %s", i, len(cfgs), cfg.name)
        status = _train_one(cfg, show_progress)
        rows.append({"run": cfg.name, "status": status, **run_figures(cfg.run_dir)})
    rows = sort_rows(rows, sort_by)
    write_tables(rows, out, sort_by)
    return rows


def run_state(run_dir: Path, steps: int) -> str:
    """``finished`` (last.pt covers ``steps``), ``partial`` (a checkpoint to resume) or ``new``."""
    from geocolor.models.io import read_model_file

    if (run_dir / "last.pt").is_file():
        try:
            done = read_model_file(run_dir / "last.pt")["metadata"]["training"]["steps"]
        except (ModelFileError, KeyError, TypeError):
            done = -1
        if done >= steps:
            return "finished"
    return "partial" if (run_dir / "checkpoint.pt").is_file() else "new"


def _train_one(cfg: Any, show_progress: bool) -> str:
    from geocolor.train.trainer import train

    state = run_state(cfg.run_dir, cfg.steps)
    if state == "finished":
        log.info("%s is finished; skipped", cfg.run_dir)
        return "skipped (finished)"
    try:
        train(cfg, resume=state == "partial", show_progress=show_progress)
    except GeocolorError as e:
        log.error("%s failed: %s", cfg.name, e)
        return f"failed: {e}"
    return "resumed" if state == "partial" else "trained"


def run_figures(run_dir: Path) -> dict[str, Any]:
    """The figures of one run folder's best.pt (empty when it has none)."""
    from geocolor.models.io import read_model_file

    try:
        meta = read_model_file(run_dir / "best.pt")["metadata"]
    except ModelFileError:
        return {}
    training, ev = meta.get("training", {}), meta.get("evaluation") or {}
    row: dict[str, Any] = {
        "model": training.get("model"),
        "generator": meta.get("architecture", {}).get("generator"),
        "gan_mode": training.get("gan_mode"),
        "color_space": meta.get("color_space"),
        "steps": _last_step(run_dir),
        "best_step": training.get("steps"),
        "n_chips": ev.get("n_chips"),
    }
    for prefix, part in (("", "model"), ("gray_", "gray"), ("mean_color_", "mean_color")):
        for key, value in (ev.get(part) or {}).items():
            if not key.endswith("_std"):
                row[f"{prefix}{key}"] = value
    return row


def _last_step(run_dir: Path) -> int | None:
    import json

    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return None
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    return int(json.loads(lines[-1])["step"]) if lines else None


def sort_rows(rows: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Best first by ``metric`` (see ``SORT_METRICS``); rows without the figure go last, in input order."""
    higher = SORT_METRICS[metric]

    def key(row: dict[str, Any]) -> tuple[int, float]:
        value = row.get(metric)
        if not isinstance(value, (int, float)) or math.isnan(value):
            return (1, 0.0)
        value = abs(value) if metric == "colourfulness_diff" else value
        return (0, -value if higher else value)

    return sorted(rows, key=key)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.1f}"
    return str(value)


def write_tables(rows: list[dict[str, Any]], out: Path, sort_by: str) -> None:
    """results.csv (all columns, full precision) and results.md (rounded), each written atomically."""
    columns = COLUMNS + sorted({k for r in rows for k in r} - set(COLUMNS))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(out / "results.csv", buf.getvalue())
    shown = [c for c in COLUMNS if any(r.get(c) not in (None, "") for r in rows)]
    order = "lowest" if not SORT_METRICS[sort_by] else "highest"
    lines = [
        f"# Sweep results ({len(rows)} runs, sorted by {sort_by}, {order} first)",
        "",
        "Held-out figures of each run's best.pt; gray_* and mean_color_* are the baselines on the same chips.",
        "",
        "| " + " | ".join(shown) + " |",
        "|" + "---|" * len(shown),
    ]
    lines += ["| " + " | ".join(_fmt(r.get(c)).replace("|", "/") for c in shown) + " |" for r in rows]
    write_text_atomic(out / "results.md", "\n".join(lines) + "\n")
