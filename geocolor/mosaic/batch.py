"""``colorize_many``: several inputs, one output folder, and optionally one palette for all of them.

Adjacent map sheets or flight lines colorized independently come out in different tints. With a
style (a reference raster, a named style of the model, or ``auto``), the style is resolved once and
every sheet is mapped onto the same palette (``geocolor.style.apply``). ``auto`` measures the
predictions of every input first and pools them, so the common palette is the sheets' own average.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from geocolor.errors import EngineError, InputError
from geocolor.models.colorizer import Colorizer, is_colorizer
from geocolor.mosaic.engine import MosaicOptions, MosaicResult, colorize
from geocolor.raster import check_output
from geocolor.style.apply import StyleSpec, StyleTarget
from geocolor.types import Bounds, PathLike

log = logging.getLogger(__name__)


def output_paths(srcs: list[PathLike], out_dir: PathLike) -> list[Path]:
    """``OUT_DIR/<input stem>.tif`` for each input; two inputs with the same stem are an error."""
    outs = [Path(out_dir) / f"{Path(s).stem}.tif" for s in srcs]
    seen: set[Path] = set()
    for src, out in zip(srcs, outs):
        if out in seen:
            raise InputError(f"two inputs would both write {out.name} (same file name); rename {Path(src).name} or process it separately")
        seen.add(out)
    return outs


def archive_pairs(srcs: Sequence[PathLike], out_dir: PathLike) -> list[tuple[Path, Path]]:
    """(input, ``OUT_DIR/<input stem>.tif``) for each input; the folder is created."""
    if not srcs:
        raise InputError("no inputs given")
    outs = output_paths(list(srcs), out_dir)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return [(Path(s), o) for s, o in zip(srcs, outs)]


def colorize_many(srcs: list[PathLike], out_dir: PathLike, options: MosaicOptions | None = None, **overrides: Any) -> list[MosaicResult]:
    """Colorize each input into ``out_dir`` (created if missing) with one shared style (see module docstring)."""
    from geocolor.models.engines import load_colorizer

    opts = replace(options or MosaicOptions(), **overrides)
    if not srcs:
        raise InputError("no inputs given")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    outs = output_paths(srcs, out_dir)
    for src, out in zip(srcs, outs):  # refuse before any work is done
        check_output(out, Path(src), opts.overwrite)
    loaded = load_colorizer(opts.model, opts.device, opts.engine, opts.precision, opts.threads, style=opts.style)
    if opts.style is None:
        return [colorize(src, out, opts, translator=loaded) for src, out in zip(srcs, outs)]
    if not is_colorizer(loaded):
        raise EngineError(f"--style needs the torch engine; this model runs on {loaded.engine} (use --engine torch)")
    translator: Colorizer = loaded
    target, shared = _shared_target(opts.style, translator, srcs, opts)
    return [
        colorize(src, out, replace(opts, style=replace(target, bounds=box)), translator=translator)
        for src, out, box in zip(srcs, outs, shared)
    ]


def _shared_target(style: StyleSpec, translator: Colorizer, srcs: list[PathLike], opts: MosaicOptions) -> tuple[StyleTarget, list[Bounds | None]]:
    """The one ``StyleTarget`` all inputs are mapped onto, and where each input's palette is measured
    (``geocolor.style.overlap.shared_boxes`` for georeferenced inputs in one CRS, else everywhere)."""
    from contextlib import ExitStack

    from geocolor.raster import is_georeferenced, open_raster, plan_input
    from geocolor.style.apply import AUTO, auto_target, resolve_style
    from geocolor.style.dodge import read_exposure_field
    from geocolor.style.overlap import shared_boxes

    with ExitStack() as stack:
        sets = [stack.enter_context(open_raster(str(src))) for src in srcs]
        same_crs = all(is_georeferenced(ds) and ds.crs is not None for ds in sets) and len({ds.crs.to_string() for ds in sets}) == 1
        boxes: list[Bounds] = [(ds.bounds[0], ds.bounds[1], ds.bounds[2], ds.bounds[3]) for ds in sets]
        shared: list[Bounds | None] = shared_boxes(boxes) if same_crs and len(sets) > 1 else [None] * len(sets)
        if style != AUTO:
            target = resolve_style(str(style), translator) if isinstance(style, (str, Path)) else style
            return target, shared
        inputs = [(ds, plan_input(ds, opts.bands, opts.percentiles)) for ds in sets]
        dodges = [read_exposure_field(ds, plan, opts.dodge) if opts.dodge > 0 else None for ds, plan in inputs]
        target = auto_target(translator, inputs, opts.tile or translator.tile_size, shared, tone=opts.style_tone, dodges=dodges)
    log.info("auto style: pooled palette of %d inputs, a*b* mean %.1f, %.1f", len(srcs), *target.moments.mean)
    return target, shared
