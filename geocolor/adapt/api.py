"""``adapt``: colour historical scans with a model fine-tuned on the modern imagery of their own ground.

Stages (each writes its outputs under ``out_dir`` and is skipped on a rerun when they are complete, so
a killed run resumes where it stopped):

1. **scans**: CRS, bounds and ground sample distance of every scan; their footprint (union of bounds,
   plus ``buffer_m``), or the ``bbox`` / ``aoi`` given instead.
2. **modern**: the modern colour imagery of that footprint: local rasters (``from_rasters``, cropped to
   the footprint when both are georeferenced) or a WMTS / XYZ harvest (``geocolor.harvest``) at the
   zoom whose resolution matches the scans' (``zoom`` overrides) -> ``modern/``.
3. **film**: the film degradation fitted to the scans (``geocolor.dataset.filmfit``: tone curve,
   blur, grain) -> ``film_fit.json``.
4. **finetune**: the base model (the shipped default unless ``model``) warm-started and trained with
   L1 on modern chips whose gray side is degraded by the fitted film, for ``minutes`` of training time
   (resumable; more ``minutes`` on a rerun continue it, another recipe is refused:
   ``geocolor.train.trainer.check_same_recipe``); a strip of 20 % of each modern raster (at least one tile)
   is held out and scored before the first step (the base model) and at every evaluation -> ``run/adapt/best.pt``.
5. **colorize**: every scan coloured by the adapted model, seeing the scan tone-matched to the scans'
   pooled tone, the tone its training chips were given (``scans_tone``; the output keeps the scan's L*) -> ``<scan>.tif`` (COG, CRS and transform
   intact), and by the base model as the scan is -> ``base/<scan>.tif`` for comparison.
6. **report**: ``adapt_report.html`` (before/after of each scan, loss curve, held-out figures).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geocolor.errors import ConfigError, InputError
from geocolor.files import write_json_atomic
from geocolor.types import PathLike

log = logging.getLogger(__name__)

HOLDOUT_SHARE = 0.2  # of each modern raster's longer side held out (at least one tile plus the gap)
MIN_MODERN_SIDE = 600  # px: a cropped modern raster smaller than this is used whole instead
WEB_MERCATOR_M_PER_PX_Z0 = 156543.03392804097  # 256 px tiles at zoom 0, at the equator


@dataclass
class AdaptOptions:
    """Everything ``adapt`` can be told (see the module docstring)."""

    from_rasters: list[PathLike] = field(default_factory=list)
    wmts: str | None = None
    layer: str | None = None
    xyz: str | None = None
    zoom: str | None = None
    bbox: str | None = None  # MINX,MINY,MAXX,MAXY in ``bbox_crs``: the area to harvest instead of the scans' footprint
    bbox_crs: str = "EPSG:4326"
    aoi: PathLike | None = None
    buffer_m: float = 500.0
    minutes: float = 15.0
    model: PathLike | None = None
    device: str = "auto"
    threads: int = 0
    film_prob: float = 0.8
    batch_size: int = 8
    lr: float = 1e-4
    eval_every: int = 100  # steps between held-out evaluations (each also writes the checkpoint a rerun resumes from)
    restraint: float = 1.0  # loss.lambda_chroma of the fine-tuning: the penalty on colour above the truth's (0: plain L1)
    false_colour_max: float | None = None  # keep only weights whose held-out false-colour rate is at most this (None: any)
    tone_match: bool = True  # several scans: the adapted model sees each tone-matched to their pooled tone (``scans_tone``)
    overwrite: bool = False
    show_progress: bool = True
    scheduler: str | None = None  # colour the scans on a Dask cluster (address or local:N; geocolor.cluster)


@dataclass
class ScanInfo:
    path: Path
    width: int
    height: int
    crs: str | None
    bounds: tuple[float, float, float, float] | None
    gsd: float | None  # metres per pixel, None without a projected CRS


@dataclass
class AdaptResult:
    out_dir: Path
    outputs: list[Path]
    model: Path
    report: Path
    heldout_base: dict[str, float]
    heldout_adapted: dict[str, float]
    minutes: float
    steps: int

    def summary(self) -> str:
        b, a = self.heldout_base, self.heldout_adapted
        figures = ""
        if b and a:
            figures = (f"; held-out modern chips: PSNR {b.get('psnr', math.nan):.2f} -> {a.get('psnr', math.nan):.2f} dB, "
                       f"CIEDE2000 {b.get('delta_e2000', math.nan):.2f} -> {a.get('delta_e2000', math.nan):.2f}, "
                       f"false colour {100 * b.get('false_colour', math.nan):.1f} -> {100 * a.get('false_colour', math.nan):.1f} %")
        return f"adapted in {self.minutes:.1f} min ({self.steps} steps){figures}; {len(self.outputs)} scan(s) coloured; report {self.report}"


# -- 1. scans ---------------------------------------------------------------------------------------
def scan_info(path: PathLike) -> ScanInfo:
    from geocolor.raster import is_georeferenced, open_raster

    p = Path(path)
    with open_raster(p) as ds:
        geo = is_georeferenced(ds) and ds.crs is not None
        crs = ds.crs.to_string() if geo else None
        b = ds.bounds
        bounds = (float(b[0]), float(b[1]), float(b[2]), float(b[3])) if geo else None
        gsd = None
        if geo and ds.crs.is_projected:
            gsd = float(abs(ds.transform.a)) * float(ds.crs.linear_units_factor[1])
        elif geo and ds.crs.is_geographic:
            lat = 0.5 * (float(b[1]) + float(b[3]))
            gsd = float(abs(ds.transform.a)) * 111_320.0 * math.cos(math.radians(lat))
        return ScanInfo(p, ds.width, ds.height, crs, bounds, gsd)


def footprint(scans: list[ScanInfo], buffer_m: float) -> tuple[tuple[float, float, float, float], str]:
    """The union of the scans' bounds plus ``buffer_m``, in the first scan's CRS."""
    from pyproj import Transformer

    crs = scans[0].crs
    assert crs is not None
    boxes = []
    for s in scans:
        assert s.bounds is not None and s.crs is not None
        if s.crs == crs:
            boxes.append(s.bounds)
        else:
            t = Transformer.from_crs(s.crs, crs, always_xy=True)
            boxes.append(t.transform_bounds(*s.bounds))
    minx, miny = min(b[0] for b in boxes), min(b[1] for b in boxes)
    maxx, maxy = max(b[2] for b in boxes), max(b[3] for b in boxes)
    from pyproj import CRS

    unit = 1.0 if CRS.from_user_input(crs).is_projected else 1.0 / 111_320.0
    pad = buffer_m * unit
    return (minx - pad, miny - pad, maxx + pad, maxy + pad), crs


def web_mercator_zoom(gsd: float, lat: float) -> int:
    """The web-mercator zoom whose pixel size at latitude ``lat`` is nearest ``gsd`` (metres), 0..22."""
    z = math.log2(WEB_MERCATOR_M_PER_PX_Z0 * math.cos(math.radians(lat)) / max(gsd, 1e-3))
    return int(min(22, max(0, round(z))))


# -- 2. modern imagery ------------------------------------------------------------------------------
def _crop(src: Path, box: tuple[float, float, float, float], box_crs: str, dst: Path) -> Path:
    """``src`` cut to ``box`` (a GeoTIFF at ``dst``), or ``src`` itself when the cut would be small or empty."""
    import rasterio
    from rasterio.windows import from_bounds

    from geocolor.files import atomic_path

    with rasterio.open(src) as ds:
        if ds.crs is None:
            return src
        from pyproj import Transformer

        b = Transformer.from_crs(box_crs, ds.crs.to_string(), always_xy=True).transform_bounds(*box)
        win = from_bounds(*b, transform=ds.transform).round_offsets().round_lengths()
        try:
            win = win.intersection(rasterio.windows.Window(0, 0, ds.width, ds.height))
        except rasterio.errors.WindowError:
            log.warning("%s does not overlap the scans' footprint; all of it is used (imagery of the region)", src.name)
            return src
        if min(win.width, win.height) < MIN_MODERN_SIDE:
            return src
        profile = {**ds.profile, "width": win.width, "height": win.height, "transform": ds.window_transform(win),
                   "driver": "GTiff", "tiled": True, "compress": "deflate"}
        profile.pop("blockxsize", None)
        profile.pop("blockysize", None)
        with atomic_path(dst, suffix=".tif") as tmp, rasterio.open(tmp, "w", **profile) as out:
            out.write(ds.read(window=win))
            if ds.nodata is None:
                mask = ds.dataset_mask(window=win)
                if not mask.all():
                    out.write_mask(mask)
    return dst


def modern_imagery(scans: list[ScanInfo], out_dir: Path, opts: AdaptOptions) -> list[Path]:
    """The modern colour rasters of the scans' ground (see the module docstring, stage 2)."""
    folder = out_dir / "modern"
    folder.mkdir(parents=True, exist_ok=True)
    georef = all(s.crs for s in scans)
    area: tuple[tuple[float, float, float, float], str] | None = None
    if opts.bbox:
        from geocolor.aoi import parse_bbox

        area = (tuple(parse_bbox(opts.bbox)), opts.bbox_crs)  # type: ignore[assignment]
    elif georef:
        area = footprint(scans, opts.buffer_m)
    if opts.from_rasters:
        out = []
        for src in map(Path, opts.from_rasters):
            if not src.exists():
                raise InputError(f"--from {src} does not exist")
            dst = folder / f"{src.stem}.tif"
            out.append(dst if dst.exists() else (_crop(src, area[0], area[1], dst) if area else src))
        return out
    if area is None:
        raise InputError("the scans have no CRS: give --from rasters of the same ground, or --bbox / --aoi to harvest")
    return [_harvest(scans, area, folder, opts)]


def _harvest(scans: list[ScanInfo], area: tuple[tuple[float, float, float, float], str], folder: Path, opts: AdaptOptions) -> Path:
    from pyproj import Transformer

    from geocolor.aoi import aoi_from_bbox, aoi_from_file
    from geocolor.harvest import HarvestConfig, harvest

    aoi = aoi_from_file(opts.aoi) if opts.aoi else aoi_from_bbox(",".join(f"{v:.8f}" for v in area[0]), area[1])
    zoom = opts.zoom
    if zoom is None:
        gsds = [s.gsd for s in scans if s.gsd]
        if not gsds:
            raise InputError("cannot tell the scans' ground resolution (no projected CRS): give --zoom")
        lon_lat = Transformer.from_crs(area[1], "EPSG:4326", always_xy=True).transform_bounds(*area[0])
        zoom = str(web_mercator_zoom(float(np.median(gsds)), 0.5 * (lon_lat[1] + lon_lat[3])))
        log.info("harvest zoom %s (scans at %.2f m/px)", zoom, float(np.median(gsds)))
    config = HarvestConfig(out=folder / "harvest", aoi=aoi, zoom=zoom, url=opts.wmts, layer=opts.layer, xyz=opts.xyz)
    result = harvest(config)
    if result.failed:
        raise InputError(f"{result.summary()}; run adapt again to fetch the failed tiles")
    if result.vrt is None:
        raise InputError("the harvest returned no imagery for the scans' area")
    return trim_to_valid(Path(result.vrt), folder / "harvest.tif")


def trim_to_valid(src: Path, dst: Path) -> Path:
    """``src`` cut to the bounding box of its valid pixels, as a GeoTIFF at ``dst`` (kept when it exists)."""
    import rasterio
    from rasterio.windows import Window

    from geocolor.files import atomic_path

    if dst.exists():
        return dst
    with rasterio.open(src) as ds:
        mask = ds.dataset_mask()
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        if not len(rows):
            raise InputError(f"{src} holds no valid pixels")
        win = Window(int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
        count = min(ds.count, 3)
        profile = {"driver": "GTiff", "width": win.width, "height": win.height, "count": count, "dtype": ds.dtypes[0],
                   "crs": ds.crs, "transform": ds.window_transform(win), "tiled": True, "compress": "deflate"}
        with atomic_path(dst, suffix=".tif") as tmp, rasterio.open(tmp, "w", **profile) as out:
            out.write(ds.read(list(range(1, count + 1)), window=win))
            out.write_mask(ds.dataset_mask(window=win))
    return dst


# -- 3. film fit ------------------------------------------------------------------------------------
def _gray_sample(path: Path, max_side: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """A decimated gray read (0..1) of a raster and its valid pixels (RGB -> L* gray, 1 band as is)."""
    import rasterio
    from rasterio.enums import Resampling

    from geocolor.color import lightness_to_gray, rgb_to_lab
    from geocolor.raster import band_percentiles, image_bands

    with rasterio.open(path) as ds:
        scale = max(1.0, max(ds.width, ds.height) / max_side)
        shape = (max(1, int(ds.height / scale)), max(1, int(ds.width / scale)))
        bands = image_bands(ds)[:3] if len(image_bands(ds)) >= 3 else image_bands(ds)[:1]
        data = ds.read(bands, out_shape=(len(bands), *shape), resampling=Resampling.average).astype(np.float32)
        valid = ds.dataset_mask(out_shape=shape) > 0
        if ds.dtypes[0] == "uint8":
            lo, hi = 0.0, 255.0
        else:
            lo, hi = band_percentiles(ds, tuple(bands), (0.1, 99.9))
    x = np.clip((data - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    if len(bands) == 3:
        gray = np.asarray(lightness_to_gray(rgb_to_lab(np.moveaxis(x, 0, -1))[..., 0]))
        valid &= data.max(axis=0) > 0
    else:
        gray = x[0]
    return gray.astype(np.float32), valid


def fit_scans(scans: list[ScanInfo], modern: list[Path], out_dir: Path) -> Path:
    from geocolor.dataset.filmfit import fit_film, measure, pooled

    path = out_dir / "film_fit.json"
    fitted_to = sorted([s.path.name, s.path.stat().st_size] for s in scans)
    if path.exists():
        before = json.loads(path.read_text()).get("fitted_to")
        if before is not None and before != fitted_to:
            raise InputError(f"{out_dir} holds an adaptation to other scans ({', '.join(str(n) for n, _ in before)[:120]}); "
                             "give another --out-dir")
        return path
    stats = []
    for s in scans:
        gray, valid = _gray_sample(s.path)
        stats.append(measure(gray, valid))
    gray, valid = _gray_sample(modern[0])
    rows, cols = np.nonzero(valid)
    if len(rows) == 0:
        raise InputError(f"{modern[0]} holds no valid pixels")
    sample = gray[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    fitted = fit_film(pooled(stats), sample)
    for note in fitted.notes:
        log.info("film fit: %s", note)
    write_json_atomic(path, {**fitted.to_dict(), "fitted_to": fitted_to})
    return path


# -- 4. fine-tune -----------------------------------------------------------------------------------
def finetune_config(base: PathLike, modern: list[Path], film_fit: Path, run_dir: Path, opts: AdaptOptions) -> Any:
    """The training config of the fine-tuning: the base model's architecture, warm-started, L1 plus the over-colour penalty."""
    from geocolor.models.io import read_model_file
    from geocolor.train.config import config_from_dict

    meta = read_model_file(base)["metadata"]
    if meta.get("task", "colorize") != "colorize" or meta.get("training", {}).get("model", "pix2pix") not in ("pix2pix",):
        raise ConfigError(f"{Path(base).name} is not a pix2pix colorization model; adapt fine-tunes pix2pix models")
    arch = meta["architecture"]
    tree = {
        "name": "adapt", "out_dir": str(run_dir), "steps": 1_000_000, "eval_every": opts.eval_every, "log_every": 10, "seed": 0,
        "threads": opts.threads, "device": opts.device, "max_minutes": opts.minutes, "eval_at_start": True,
        "data": {"sources": [{"path": str(p), "holdout": holdout_for(p, int(meta["tile_size"]))} for p in modern],
                 "tile": int(meta["tile_size"]),
                 "batch_size": opts.batch_size, "film_prob": opts.film_prob, "film_fit": str(film_fit)},
        "model": {"model": "pix2pix", "generator": arch["generator"], "ngf": int(arch["ngf"]), "norm": arch.get("norm", "batch"),
                  "dropout": bool(arch.get("dropout", True)), "color_space": meta.get("color_space", "lab"),
                  "init_from": str(base)},
        "loss": {"lambda_gan": 0.0, "lambda_l1": 100.0, "lambda_chroma": opts.restraint},
        "best_false_colour_max": opts.false_colour_max,
        "optim": {"lr": opts.lr, "beta1": 0.5, "policy": "constant"},
        "performance": {"amp": "bf16", "channels_last": True},
    }
    return config_from_dict(tree)


def holdout_for(path: Path, tile: int, gap: int = 16) -> str:
    """The held-out strip of a modern raster: ``HOLDOUT_SHARE`` of its longer side, widened to fit one tile."""
    import rasterio

    with rasterio.open(path) as ds:
        side, edge = (ds.width, "right") if ds.width >= ds.height else (ds.height, "bottom")
    share = max(HOLDOUT_SHARE, (tile + gap + 2) / max(side, 1))
    if share > 0.5:
        return "none"  # too small to split: no held-out figures for this raster
    return f"{edge}:{share:.3f}"


def finetune(cfg: Any, show_progress: bool) -> tuple[Path, int, float]:
    """Train (or resume) the fine-tuning run; returns (best model file, steps, minutes)."""
    import torch

    from geocolor.train.trainer import Trainer, check_same_recipe

    done = cfg.run_dir / "done.json"
    check_same_recipe(cfg)  # a rerun with other options (--restraint, --model...) must not reuse this fine-tuning
    resume = (cfg.run_dir / "checkpoint.pt").exists()
    if done.exists():
        info = json.loads(done.read_text())
        if not (resume and cfg.max_minutes > float(info.get("max_minutes", cfg.max_minutes))):
            return cfg.run_dir / "best.pt", int(info["steps"]), float(info["minutes"])
        log.info("more --minutes than the finished fine-tuning had (%.1f): it continues", float(info["max_minutes"]))
        done.unlink()
    trainer = Trainer(cfg, resume=resume, show_progress=show_progress)
    trainer.run()
    steps, minutes = trainer.step, trainer.seconds / 60.0
    write_json_atomic(done, {"steps": steps, "minutes": minutes, "max_minutes": cfg.max_minutes, "torch": torch.__version__})
    return cfg.run_dir / "best.pt", steps, minutes


def heldout_figures(run_dir: Path, false_colour_max: float | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """(base model, adapted model) figures on the held-out modern chips, from the run's ``metrics.jsonl``.

    The adapted model's are those of the evaluation ``best.pt`` was kept at (the trainer's own rule).
    """
    from geocolor.train.trainer import selection_score

    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return {}, {}
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        return {}, {}
    base = next((r for r in rows if r["step"] == 0), rows[0])
    best = min(rows, key=lambda r: selection_score(r["model"], false_colour_max))
    keys = ("psnr", "ssim", "delta_e2000", "false_colour")

    def pick(row: dict[str, Any]) -> dict[str, float]:
        return {k: float(row["model"][k]) for k in keys if k in row["model"]}

    return pick(base), {**pick(best), "step": float(best["step"])}


# -- 5-6. colorize and report -----------------------------------------------------------------------
def scans_tone(scans: list[ScanInfo], tile: int) -> tuple[float, ...] | None:
    """The tone every scan is matched to before the adapted model colours it: the scans' pooled L* quantiles, each
    scan measured as the mosaic reads it (``geocolor.style.apply.lightness_sample`` on ``tile`` px tiles, each scan
    counting the same). The fitted film carried the modern training chips onto this same pooled tone, so scans
    exposed or printed differently from each other are coloured alike, as the model learnt. None for one scan:
    its match to itself is the identity. The output keeps each scan's own L*."""
    if len(scans) < 2:
        return None
    from geocolor.mosaic import MosaicOptions
    from geocolor.raster import open_raster, plan_input
    from geocolor.style.apply import lightness_sample
    from geocolor.style.tone import pool_quantiles

    defaults = MosaicOptions()
    samples = []
    for s in scans:
        with open_raster(s.path) as ds:
            samples.append(lightness_sample(ds, plan_input(ds, defaults.bands, defaults.percentiles), tile))
    return tuple(float(v) for v in pool_quantiles(samples))


def colour_scans(scans: list[ScanInfo], model: Path, base: PathLike, out_dir: Path, opts: AdaptOptions,
                 tone: tuple[float, ...] | None = None) -> list[Path]:
    """Colour every scan with the adapted ``model`` (tone-matched to ``tone`` when given) into ``DIR/<scan>.tif``,
    and with the ``base`` model as it is into ``DIR/base/<scan>.tif``."""
    from geocolor.mosaic import MosaicOptions, colorize

    (out_dir / "base").mkdir(exist_ok=True)
    todo = [(s.path, path, MosaicOptions(model=m, device=opts.device, threads=opts.threads or None, overwrite=True,
                                         tone_target=t, show_progress=opts.show_progress))
            for s in scans
            for m, path, t in ((model, out_dir / f"{s.path.stem}.tif", tone), (base, out_dir / "base" / f"{s.path.stem}.tif", None))
            if not (path.exists() and not opts.overwrite and _newer(path, model) and _toned(path) == (t is not None))]
    if opts.scheduler:  # the same outputs, one cluster task each
        from geocolor.cluster.archive import colorize_on

        colorize_on(opts.scheduler, todo, opts.show_progress)
    else:
        from geocolor.models.engines import load_colorizer

        loaded: dict[Path, Any] = {}  # each model loaded once
        for src, dst, options in todo:
            key = Path(options.model or base)
            if key not in loaded:
                loaded[key] = load_colorizer(key, opts.device, "auto", "auto", opts.threads or None)
            colorize(src, dst, options, translator=loaded[key])
    return [out_dir / f"{s.path.stem}.tif" for s in scans]


def _newer(path: Path, than: Path) -> bool:
    return path.stat().st_mtime >= than.stat().st_mtime


def _toned(path: Path) -> bool:
    """Whether the output at ``path`` was coloured tone-matched (its ``GEOCOLOR_TONE`` tag); False if unreadable."""
    import rasterio

    try:
        with rasterio.open(path) as ds:
            return "GEOCOLOR_TONE" in ds.tags()
    except rasterio.errors.RasterioIOError:
        return False


def adapt(scans: list[PathLike], out_dir: PathLike, options: AdaptOptions | None = None, **overrides: Any) -> AdaptResult:
    """Run the stages of the module docstring; returns what was made."""
    from dataclasses import fields, replace

    from geocolor.models import DEFAULT_MODEL

    unknown = set(overrides) - {f.name for f in fields(AdaptOptions)}
    if unknown:
        raise TypeError(f"adapt() got unknown option(s) {', '.join(sorted(unknown))}")
    opts = replace(options or AdaptOptions(), **overrides)
    if not scans:
        raise InputError("give at least one scan to colour")
    sources = sum(bool(x) for x in (opts.from_rasters, opts.wmts, opts.xyz))
    if sources != 1:
        raise InputError("give exactly one source of modern imagery: --from RASTER..., --wmts URL --layer L, or --xyz TEMPLATE")
    if opts.wmts and not opts.layer:
        raise InputError("--wmts needs --layer")
    if not opts.minutes > 0:
        raise InputError(f"--minutes must be > 0, got {opts.minutes}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    infos = [scan_info(p) for p in scans]
    base = Path(opts.model) if opts.model else DEFAULT_MODEL
    modern = modern_imagery(infos, out, opts)
    film = fit_scans(infos, modern, out)
    cfg = finetune_config(base, modern, film, out / "run", opts)
    model, steps, minutes = finetune(cfg, opts.show_progress)
    tone = scans_tone(infos, cfg.data.tile) if opts.tone_match else None  # the adapted model's tile: the base's
    outputs = colour_scans(infos, model, base, out, opts, tone)
    base_fig, adapted_fig = heldout_figures(cfg.run_dir, opts.false_colour_max)
    from geocolor.adapt.report import write_report

    report = write_report(out, infos, outputs, cfg.run_dir, base_fig, adapted_fig, film, minutes, steps)
    shutil.copyfile(model, out / "adapted.pt") if not (out / "adapted.pt").exists() or opts.overwrite else None
    log.info("adapt took %.1f min", (time.monotonic() - started) / 60)
    return AdaptResult(out, outputs, out / "adapted.pt", report, base_fig, adapted_fig, minutes, steps)
