"""``build_dataset(cfg)``: colour rasters in, paired/unpaired gray-colour chips, manifest, stats and preview out.

The steps, each in its own module:

1. open the sources (``sources``) and plan windows and spatial splits from geometry (``planning``);
2. for every window, in a fixed order: read it (windowed), convert to gray (``gray``), filter
   (``chips``), degrade the gray input only (``film``), write the layouts atomically (``layouts``),
   and note the result in the resume journal (``state``);
3. the same for real historical photos (``--unpaired-a``), which go to the unpaired A folders;
4. write ``manifest.csv``, ``stats.json`` + ``stats.png`` (``stats``) and ``preview.png`` (``preview``),
   then mark the dataset complete in ``dataset.json``.

Re-running the same build is a no-op; an interrupted one resumes from the journal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from geocolor.dataset.chips import ChipWindow, dhash, skip_reason, white_fraction
from geocolor.dataset.config import SPLITS, DatasetConfig, settings_of, validate
from geocolor.dataset.film import degrade
from geocolor.dataset.gray import bt601_gray, gray_converter
from geocolor.dataset.io import read_json
from geocolor.dataset.layouts import chip_targets, read_manifest, write_chip, write_manifest
from geocolor.dataset.planning import Plan, make_plan
from geocolor.dataset.preview import dataset_preview
from geocolor.dataset.sources import Patch, Source, SourceReader, open_sources
from geocolor.dataset.state import Journal, fingerprint, inspect, start, write_state
from geocolor.dataset.stats import HIST_BINS, chip_histogram, compute_stats, write_stats
from geocolor.errors import InputError
from geocolor.types import ProgressCallback

log = logging.getLogger(__name__)


@dataclass
class DatasetResult:
    """What a build produced: chip counts per split, skip reasons and the main files."""

    root: Path
    counts: dict[str, int]
    real_a_counts: dict[str, int]
    skipped: dict[str, int]
    manifest: Path
    stats: Path
    preview: Path | None
    up_to_date: bool = False


@dataclass
class _Run:
    """Mutable state of one build: journal, kept records, histograms, hashes seen, skip counts."""

    cfg: DatasetConfig
    root: Path
    journal: Journal
    done: dict[str, dict[str, Any]]
    records: list[dict[str, Any]] = field(default_factory=list)
    hists: dict[str, np.ndarray] = field(default_factory=lambda: {s: np.zeros((3, HIST_BINS), np.int64) for s in SPLITS})
    seen: dict[str, set[str]] = field(default_factory=lambda: {"paired": set(), "real_a": set()})
    skipped: dict[str, int] = field(default_factory=dict)

    def files_of(self, rec: dict[str, Any]) -> list[str]:
        return [rel for _, rel in chip_targets(self.cfg.layouts, rec["split"], rec["id"], rec["domain"], self.cfg.unpaired_a_only)]

    def reusable(self, chip_id: str) -> dict[str, Any] | None:
        """The journal entry of a window processed before, unless it was kept and a file is missing."""
        rec = self.done.get(chip_id)
        if rec is None or (rec["status"] == "kept" and not all((self.root / f).is_file() for f in self.files_of(rec))):
            return None
        return rec

    def screen(self, image: np.ndarray, gray: np.ndarray, valid: np.ndarray, domain: str) -> tuple[str | None, str]:
        """(why the chip is skipped or None, its hash): the filters, then duplicates of kept chips of the domain."""
        reason = skip_reason(image, gray, valid, self.cfg.filters)
        digest = dhash(gray)
        if reason is None and self.cfg.filters.dedupe and digest in self.seen[domain]:
            reason = "duplicate"
        return reason, digest

    def note(self, rec: dict[str, Any], fresh: bool) -> None:
        if fresh:
            self.journal.append(rec)
        if rec["status"] != "kept":
            self.skipped[rec["status"]] = self.skipped.get(rec["status"], 0) + 1
            return
        hist = rec.pop("hist", None)
        if hist is not None:
            self.hists[rec["split"]] += np.asarray(hist, dtype=np.int64)
        self.seen[rec["domain"]].add(rec["dhash"])
        self.records.append(rec)


def _record(src: Source, cw: ChipWindow, patch: Patch, split: str, domain: str, rgb: np.ndarray | None,
            gray: np.ndarray, digest: str, cfg: DatasetConfig) -> dict[str, Any]:
    valid = patch.valid
    rec: dict[str, Any] = {
        "id": cw.id, "status": "kept", "split": split, "domain": domain, "source": src.tiles[0].path if len(src.tiles) == 1 else src.path,
        "crs": src.crs.to_string() if src.crs else "", "left": patch.bounds[0], "bottom": patch.bounds[1],
        "right": patch.bounds[2], "top": patch.bounds[3], "row_off": int(cw.window.row_off), "col_off": int(cw.window.col_off),
        "height": int(cw.window.height), "width": int(cw.window.width), "res_x": src.res[0], "res_y": src.res[1],
        "valid_frac": float(valid.mean()), "gray_mean": float(gray[valid].mean()), "gray_std": float(gray[valid].std()),
        "dhash": digest,
    }
    if rgb is not None:
        means = rgb[valid].mean(axis=0)
        rec.update(mean_r=float(means[0]), mean_g=float(means[1]), mean_b=float(means[2]),
                   white_frac=white_fraction(rgb, valid, cfg.filters.white_level), hist=chip_histogram(rgb, valid))
    return rec


def _process_colour(run: _Run, src: Source, reader: SourceReader, cw: ChipWindow, split: str) -> dict[str, Any]:
    cfg = run.cfg
    patch = reader.read(cw.window)
    rgb = np.ascontiguousarray(patch.data.transpose(1, 2, 0))
    clean = gray_converter(cfg.gray)(rgb)
    reason, digest = run.screen(rgb, clean, patch.valid, "paired")
    if reason is not None:
        return {"id": cw.id, "status": reason}
    invalid = ~patch.valid
    rgb[invalid] = 0
    clean[invalid] = 0
    gray = degrade(clean, cfg.film, cfg.seed, cw.id) if cfg.degrade == "film" else clean
    gray[invalid] = 0
    write_chip(run.root, cfg.layouts, split, cw.id, gray, rgb, cfg.unpaired_a_only)
    return _record(src, cw, patch, split, "paired", rgb, clean, digest, cfg)


def _process_real(run: _Run, src: Source, reader: SourceReader, cw: ChipWindow, split: str) -> dict[str, Any]:
    cfg = run.cfg
    patch = reader.read(cw.window)
    data = np.ascontiguousarray(patch.data.transpose(1, 2, 0))
    gray = bt601_gray(data) if data.shape[-1] >= 3 else np.ascontiguousarray(data[..., 0])
    reason, digest = run.screen(gray, gray, patch.valid, "real_a")
    if reason is not None:
        return {"id": cw.id, "status": reason}
    gray[~patch.valid] = 0
    write_chip(run.root, cfg.layouts, split, cw.id, gray, None)
    return _record(src, cw, patch, split, "real_a", None, gray, digest, cfg)


def _run_plan(run: _Run, plan: Plan, real: bool, bar: Any, progress: ProgressCallback | None, total: int) -> None:
    process = _process_real if real else _process_colour
    for src, windows in zip(plan.sources, plan.windows, strict=True):
        with SourceReader(src) as reader:
            for cw in windows:
                rec = run.reusable(cw.id)
                fresh = rec is None
                if rec is None:
                    split = plan.split_of(cw)
                    rec = process(run, src, reader, cw, split) if split else {"id": cw.id, "status": "split_border"}
                run.note(rec, fresh)
                bar.update(1)
                if progress is not None:
                    progress(bar.n / max(1, total))


def _prefixed(sources: list[Source], prefix: str) -> list[Source]:
    for src in sources:
        src.name = f"{prefix}{src.name}"
    return sources


def build_dataset(cfg: DatasetConfig, *, show_progress: bool = True, progress: ProgressCallback | None = None) -> DatasetResult:
    """Build (or resume, or confirm) the dataset ``cfg`` describes; see the module docstring."""
    validate(cfg)
    sources = open_sources(cfg.src, cfg.bands)
    real = _prefixed(open_sources(cfg.unpaired_a, gray=True), "real_") if cfg.unpaired_a else []
    root = Path(cfg.out)
    settings = settings_of(cfg)
    digest = fingerprint([t.path for s in sources + real for t in s.tiles])
    mode = inspect(root, settings, digest, cfg.overwrite)
    if mode == "done":
        result = _existing_result(root, cfg)
        if result is not None:
            log.info("%s is up to date; nothing to do", root)
            return result
    plan = make_plan(cfg, sources)
    real_plan = make_plan(cfg, real, strict=False) if real else None
    start(root, mode, settings, digest)
    run = _Run(cfg, root, Journal(root), Journal(root).load())
    total = sum(map(len, plan.windows)) + (sum(map(len, real_plan.windows)) if real_plan else 0)
    try:
        with tqdm(total=total, desc="chips", unit="chip", disable=not show_progress) as bar:
            _run_plan(run, plan, False, bar, progress, total)
            if real_plan is not None:
                _run_plan(run, real_plan, True, bar, progress, total)
    finally:
        run.journal.close()
    return _finish(run, plan, settings, digest)


def _finish(run: _Run, plan: Plan, settings: dict[str, Any], digest: str) -> DatasetResult:
    kept = [r for r in run.records if r["domain"] == "paired"]
    if not kept:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(run.skipped.items())) or "none"
        raise InputError(f"no chip is left after filtering (skipped: {reasons}); loosen --max-nodata / --min-std / "
                         "--max-white, lower --size, or check the source")
    manifest = write_manifest(run.root, run.records)
    stats = compute_stats(run.records, run.hists, run.skipped, plan.info())
    write_stats(run.root, stats, run.records)
    preview = dataset_preview(run.root, run.cfg, run.cfg.preview) if run.cfg.preview > 0 else None
    write_state(run.root, settings, digest, complete=True, counts=stats["counts"], split=plan.info())
    log.info("dataset %s: %s chips (%s), skipped %s", run.root, stats["total"], stats["counts"], run.skipped)
    return DatasetResult(run.root, stats["counts"], stats["real_a_counts"], run.skipped, manifest,
                         run.root / "stats.json", preview)


def _existing_result(root: Path, cfg: DatasetConfig) -> DatasetResult | None:
    """The result of a complete dataset whose files are all on disk, else None (then it is resumed)."""
    try:
        records = read_manifest(root)
        stats = read_json(root / "stats.json")
    except InputError:
        return None
    for rec in records:
        for _, rel in chip_targets(cfg.layouts, rec["split"], rec["id"], rec["domain"], cfg.unpaired_a_only):
            if not (root / rel).is_file():
                log.info("%s is missing; resuming the build", root / rel)
                return None
    preview = root / "preview.png"
    return DatasetResult(root, stats["counts"], stats["real_a_counts"], stats["skipped"], root / "manifest.csv",
                         root / "stats.json", preview if preview.is_file() else None, up_to_date=True)
