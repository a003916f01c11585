"""``inpaint``: fill the holes of a raster of any size, window by window, changing only hole pixels.

Holes are the input's nodata / alpha / internal-mask pixels, or the non-zero pixels of a separate
``mask`` raster of the same size. The raster is walked in square *cores* of ``tile - 2 * margin``
pixels; each core is filled from a ``tile`` x ``tile`` window around it, so every hole pixel is
predicted with at least ``margin`` pixels of context on each side (less only at the raster's edge).
``margin`` is the widest hole the model is asked to fill (``max_hole`` times the tile).

A hole (8-connected component of hole pixels) with a pixel farther than ``margin / 2`` from every
known pixel (wider than ``margin``: a missing frame, a broad nodata collar) is *not* filled: its
pixels stay as they were (nodata stays nodata) and are counted in the result and reported in the
log, never smeared over. Thin holes of any length (scratches) are filled. Since every core pixel
has ``margin`` px of context, the depth of a fillable hole's pixels is measured exactly in every
window that sees them.

The output keeps the input's bands, data type, nodata value, alpha band, CRS and transform. It is
written as an uncompressed temp file, then copied to a compressed GeoTIFF (COG) next to the output,
then renamed; only one window is in memory at a time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from geocolor import raster
from geocolor.errors import Cancelled, InputError
from geocolor.inpaint.selfcheck import METHODS, FillReport, NetworkFill, self_checked_fill
from geocolor.raster import alpha_band, band_percentiles, open_raster, require_real
from geocolor.types import CancelCallback, PathLike, ProgressCallback, RasterReader, RasterWriter

if TYPE_CHECKING:
    from geocolor.inpaint.engines import ImageFiller

log = logging.getLogger(__name__)


@dataclass
class InpaintOptions:
    """Everything ``inpaint`` can be told; ``None`` means the model's metadata decides."""

    mask: PathLike | None = None  # raster of the same size, non-zero = fill here; None: the input's own nodata/mask
    model: PathLike | None = None  # None: the shipped geocolor/weights/inpaint.pt
    tile: int | None = None
    max_hole: float = 0.25  # widest hole filled, as a fraction of the tile
    thin: float = 3.0  # holes whose every pixel is within this many px of a known one: biharmonic fill (0: all by the network)
    method: str = "auto"  # wider holes: auto (per-hole self-check), network or biharmonic (geocolor.inpaint.selfcheck)
    device: str = "auto"
    engine: str = "auto"  # torch, onnx (the .onnx beside the model), or auto (torch when installed): geocolor.inpaint.engines
    threads: int | None = None  # the engine's threads; None: the physical core count
    overwrite: bool = False
    cog: bool = True
    compress: str = "deflate"
    gdal_cache_mb: int = 64
    show_progress: bool = True


@dataclass
class InpaintResult:
    path: Path
    width: int
    height: int
    hole_pixels: int
    filled_pixels: int
    unfilled_pixels: int
    max_hole_px: int
    seconds: float
    unfilled_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)  # (row0, col0, row1, col1), first few
    methods: FillReport = field(default_factory=FillReport)  # holes and pixels filled by each method

    def summary(self) -> str:
        text = f"{self.path}: {self.width} x {self.height}, filled {self.filled_pixels} of {self.hole_pixels} hole pixels"
        if self.unfilled_pixels:
            text += f"; {self.unfilled_pixels} pixels in holes wider than {self.max_hole_px} px were left unfilled"
        if self.filled_pixels:
            text += f"; {self.methods.summary()}"
        return text + f" ({self.seconds:.1f} s)"


@dataclass(frozen=True)
class Layout:
    """The core/window walk: cores of ``core`` px, windows of ``tile`` px with ``margin`` context."""

    width: int
    height: int
    tile: int
    margin: int

    @property
    def core(self) -> int:
        return self.tile - 2 * self.margin

    def windows(self) -> Iterator[tuple[tuple[int, int, int, int], tuple[int, int, int, int]]]:
        """((core row0, col0, row1, col1), (window row0, col0, row1, col1)) in raster pixels, row by row."""
        for r in range(0, self.height, self.core):
            for c in range(0, self.width, self.core):
                core = (r, c, min(r + self.core, self.height), min(c + self.core, self.width))
                (r0, r1), (c0, c1) = self._span(r, self.height), self._span(c, self.width)
                yield core, (r0, c0, r1, c1)

    def _span(self, start: int, size: int) -> tuple[int, int]:
        lo = max(0, min(start - self.margin, size - self.tile))
        return lo, min(size, lo + self.tile)

    def count(self) -> int:
        return -(-self.height // self.core) * -(-self.width // self.core)


def fillable(hole: np.ndarray, max_depth: float) -> np.ndarray:
    """The hole pixels of components whose every pixel is within ``max_depth`` px of a known pixel.

    Depth is the Euclidean distance to the nearest non-hole pixel of the window (what lies beyond the
    window, or the raster's edge, is not known): a 3 px scratch of any length has depth ~2, a 64 x 64
    box ~32, a nodata collar as deep as it is wide. A component is filled whole or not at all.
    """
    from scipy import ndimage

    labels, n = ndimage.label(hole, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return np.zeros_like(hole)
    depth = ndimage.distance_transform_edt(hole)
    ok = np.concatenate([[False], np.asarray(ndimage.maximum(depth, labels, np.arange(1, n + 1))) <= max_depth])
    return ok[labels]


@dataclass
class _Source:
    """The open input: which bands are image bands, how they scale to [0, 1], where holes come from."""

    ds: RasterReader
    bands: list[int]
    alpha: int | None
    lo: float
    hi: float
    mask_ds: RasterReader | None
    per_dataset_mask: bool

    def read(self, win: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The window's data, its holes to fill, and every pixel the network must not trust (holes + nodata)."""
        from rasterio.windows import Window

        r0, c0, r1, c1 = win
        w = Window(c0, r0, c1 - c0, r1 - r0)
        try:
            data = self.ds.read(window=w)
            invalid = self.ds.dataset_mask(window=w) == 0
            if data.dtype.kind == "f":  # NaN and infinite pixels are nodata: holes to fill
                invalid |= ~np.isfinite(data[[b - 1 for b in self.bands]]).all(axis=0)
            hole = self.mask_ds.read(1, window=w) != 0 if self.mask_ds is not None else invalid
        except Exception as e:  # rasterio raises several types for damaged files
            raise InputError(f"{self.ds.name} is damaged: reading rows {r0}-{r1} failed ({str(e).splitlines()[0][:100]})") from None
        return data, hole, hole | invalid  # the network sees nodata outside the mask as unknown too

    def to01(self, data: np.ndarray) -> np.ndarray:
        x = (data[[b - 1 for b in self.bands]].astype(np.float32) - self.lo) / (self.hi - self.lo)
        return np.clip(np.nan_to_num(x, nan=0.0), 0.0, 1.0)

    def from01(self, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        v = self.lo + x * (self.hi - self.lo)
        if np.dtype(dtype).kind in "ui":
            info = np.iinfo(dtype)
            v = np.clip(np.round(v), info.min, info.max)
            nodata = self.ds.nodata
            if nodata is not None:  # a filled pixel must not read back as nodata
                v[v == nodata] = nodata + 1 if nodata < info.max else nodata - 1
        return v.astype(dtype)


def _open_source(ds: RasterReader, mask: PathLike | None) -> _Source:
    from rasterio.enums import MaskFlags

    alpha = alpha_band(ds)
    bands = [b for b in range(1, ds.count + 1) if b != alpha]
    if not bands:
        raise InputError(f"{ds.name} has no image bands")
    require_real(ds, bands)
    mask_ds = None
    if mask is not None:
        mask_ds = open_raster(str(mask))
        if (mask_ds.width, mask_ds.height) != (ds.width, ds.height):
            size = f"{mask_ds.width} x {mask_ds.height}"
            mask_ds.close()
            raise InputError(f"mask {mask} is {size} pixels but the input is {ds.width} x {ds.height}; they must match")
    if {ds.dtypes[b - 1] for b in bands} == {"uint8"}:
        lo, hi = 0.0, 255.0
    else:
        lo, hi = band_percentiles(ds, tuple(bands), (0.1, 99.9))
    per_dataset = alpha is None and ds.nodata is None and MaskFlags.per_dataset in ds.mask_flag_enums[0]
    return _Source(ds, bands, alpha, lo, hi, mask_ds, per_dataset)


def inpaint(src: PathLike, dst: PathLike, mask: PathLike | None = None, model: PathLike | None = None,
            options: InpaintOptions | None = None, *, inpainter: ImageFiller | None = None, progress: ProgressCallback | None = None,
            is_cancelled: CancelCallback | None = None, **overrides: Any) -> InpaintResult:
    """Fill the holes of ``src`` (its nodata, or where ``mask`` is non-zero) into ``dst`` (see module docstring).

    ``progress(fraction)`` is called after each window; when ``is_cancelled()`` turns true the run stops
    before its next window with ``geocolor.errors.Cancelled`` and its temp files are removed.
    """
    unknown = set(overrides) - {f.name for f in fields(InpaintOptions)}
    if unknown:
        raise TypeError(f"inpaint() got unknown option(s) {', '.join(sorted(unknown))}")
    opts = replace(options or InpaintOptions(), **overrides)
    opts = replace(opts, mask=mask if mask is not None else opts.mask, model=model if model is not None else opts.model)
    src_path, dst_path = Path(src), Path(dst)
    raster.check_output(dst_path, src_path, opts.overwrite)
    if inpainter is None:
        from geocolor.inpaint.engines import load_filler

        inpainter = load_filler(opts.model, device=opts.device, engine=opts.engine, threads=opts.threads)

    started = time.perf_counter()
    with raster.gdal_env(opts.gdal_cache_mb), open_raster(str(src_path)) as ds:
        source = _open_source(ds, opts.mask)
        try:
            layout = _layout(ds, inpainter, opts)
            if inpainter.channels == 3 and len(source.bands) != 3:
                raise InputError(f"this colour inpainting model needs 3 image bands; {src_path.name} has {len(source.bands)}")
            raw, tmp = raster.temp_paths(dst_path)
            try:
                with _open_raw(raw, ds) as out:
                    counts = _run(source, out, layout, inpainter, opts, progress, is_cancelled)
                raster.finalize(raw, tmp, dst_path, opts.cog, opts.compress)
                if progress:
                    progress(1.0)
            finally:
                raster.remove_quietly(raw, tmp)
        finally:
            if source.mask_ds is not None:
                source.mask_ds.close()
    result = InpaintResult(dst_path, ds.width, ds.height, *counts[:3], layout.margin, time.perf_counter() - started, counts[3],
                           counts[4])
    if result.unfilled_pixels:
        boxes = ", ".join(f"rows {a}-{c} cols {b}-{d}" for a, b, c, d in result.unfilled_boxes[:5])
        log.warning("%d hole pixels were left unfilled: their holes are wider than %d px (max_hole %.2f of the %d px tile); "
                    "e.g. %s", result.unfilled_pixels, layout.margin, opts.max_hole, layout.tile, boxes)
    log.info("%s", result.summary())
    return result


def _layout(ds: RasterReader, inpainter: ImageFiller, opts: InpaintOptions) -> Layout:
    tile = opts.tile or inpainter.tile_size
    if tile % inpainter.tile_multiple:
        raise InputError(f"--tile {tile} must be a multiple of {inpainter.tile_multiple} for this model")
    if opts.method not in METHODS:
        raise InputError(f"--method {opts.method!r} is not one of {', '.join(METHODS)}")
    if not 0 < opts.max_hole < 0.45:
        raise InputError(f"--max-hole {opts.max_hole} must be between 0 and 0.45 (a fraction of the tile)")
    return Layout(ds.width, ds.height, tile, max(1, round(opts.max_hole * tile)))


def _open_raw(path: Path, ds: RasterReader) -> RasterWriter:
    """An uncompressed tiled temp GeoTIFF with the input's bands, type, nodata, colour interpretation and georeferencing."""
    out = raster.create_raw(path, ds, count=ds.count, dtype=ds.dtypes[0], nodata=ds.nodata)
    out.colorinterp = ds.colorinterp
    out.update_tags(**ds.tags())
    return out


def _run(source: _Source, out: RasterWriter, layout: Layout, inpainter: ImageFiller, opts: InpaintOptions,
         progress: ProgressCallback | None, is_cancelled: CancelCallback | None = None
         ) -> tuple[int, int, int, list[tuple[int, int, int, int]], FillReport]:
    from rasterio.windows import Window
    from tqdm import tqdm

    holes = filled = unfilled = 0
    boxes: list[tuple[int, int, int, int]] = []
    report = FillReport()
    total = layout.count()
    ds = source.ds
    with tqdm(total=total, unit="window", desc="inpaint", disable=None if opts.show_progress else True, leave=False) as bar:
        for k, (core, win) in enumerate(layout.windows()):
            if is_cancelled and is_cancelled():
                raise Cancelled("cancelled; no output was written")
            data, hole, unknown = source.read(win)
            cr = slice(core[0] - win[0], core[2] - win[0])
            cc = slice(core[1] - win[1], core[3] - win[1])
            fill = np.zeros_like(hole)
            if hole[cr, cc].any():
                fill = fillable(hole, layout.margin / 2)
                thin = fillable(hole, opts.thin) if opts.thin > 0 else np.zeros_like(hole)
                wide = _touching_core(fill & ~thin, (cr, cc))
                if wide.any():
                    data = _fill_window(source, data, unknown, wide, layout.tile, inpainter, opts.method, report, (cr, cc))
                if thin[cr, cc].any():
                    data = _fill_thin(source, data, thin)
                    _tally_thin(thin, (cr, cc), report)
                left = hole & ~fill
                if left[cr, cc].any():
                    rows, cols = np.nonzero(left[cr, cc])
                    boxes.append((core[0] + int(rows.min()), core[1] + int(cols.min()), core[0] + int(rows.max()) + 1, core[1] + int(cols.max()) + 1))
            holes += int(hole[cr, cc].sum())
            filled += int(fill[cr, cc].sum())
            unfilled += int((hole & ~fill)[cr, cc].sum())
            w = Window(core[1], core[0], core[3] - core[1], core[2] - core[0])
            out.write(np.ascontiguousarray(data[:, cr, cc]), window=w)
            if source.per_dataset_mask:
                valid = ~(hole & ~fill) if source.mask_ds is None else ds.dataset_mask(window=w) > 0
                out.write_mask(np.ascontiguousarray(np.where(valid[cr, cc] if source.mask_ds is None else valid, 255, 0).astype(np.uint8)), window=w)
            bar.update(1)
            if progress:
                progress(0.95 * (k + 1) / total)
    return holes, filled, unfilled, boxes, report


Core = tuple[slice, slice]


def network_fill(inpainter: ImageFiller, tile: int) -> NetworkFill:
    """``(image (B, h, w) in [0, 1], hole (h, w)) -> image with the hole filled`` by the network, one window
    of at most ``tile`` px (padded by mirroring to the tile)."""

    def fill(x: np.ndarray, unknown: np.ndarray) -> np.ndarray:
        h, w = unknown.shape
        pad = ((0, tile - h), (0, tile - w))
        xp = np.pad(x, ((0, 0), *pad), mode="symmetric")
        hp = np.pad(unknown, pad, mode="symmetric")
        img = xp[None] if inpainter.channels == 3 else xp[:, None]  # colour: one 3-band image; gray: each band alone
        holes = np.repeat(hp[None, None], img.shape[0], axis=0)
        pred = inpainter.fill_array(np.ascontiguousarray(img, dtype=np.float32), holes.astype(np.float32))
        return pred.reshape(x.shape[0], tile, tile)[:, :h, :w]

    return fill


def _touching_core(mask: np.ndarray, core: Core) -> np.ndarray:
    """The components of ``mask`` with at least one pixel in the core (the others are another window's job)."""
    from scipy import ndimage

    labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return mask
    keep = np.zeros(n + 1, dtype=bool)
    keep[np.unique(labels[core])] = True
    keep[0] = False
    return keep[labels]


def _in_core(pixel: tuple[int, int], core: Core) -> bool:
    (rows, cols), (r, c) = core, pixel
    return bool(rows.start <= r < rows.stop and cols.start <= c < cols.stop)


def _tally_thin(thin: np.ndarray, core: Core, report: FillReport) -> None:
    """Count the thin holes whose first pixel lies in the core (each hole once over the whole raster)."""
    from scipy import ndimage

    from geocolor.inpaint.selfcheck import first_pixels

    labels, n = ndimage.label(thin, structure=np.ones((3, 3), dtype=bool))
    counted = sum(1 for pixel in first_pixels(labels, n) if _in_core(pixel, core))
    report.add("thin", int((labels[core] > 0).sum()), counted)


def _fill_window(source: _Source, data: np.ndarray, unknown: np.ndarray, fill: np.ndarray, tile: int, inpainter: ImageFiller,
                 method: str = "network", report: FillReport | None = None, core: Core | None = None) -> np.ndarray:
    """Fill the window's ``fill`` pixels by ``method`` (see ``geocolor.inpaint.selfcheck``) into a copy of ``data``."""
    x = source.to01(data)  # (B, h, w)
    pred, _, choices, labels = self_checked_fill(x, unknown, fill, network_fill(inpainter, tile), method)
    if report is not None and core is not None:
        core_labels = labels[core]
        for k, choice in enumerate(choices, start=1):
            pixels = int((core_labels == k).sum())
            if pixels:
                report.add(choice.method, pixels, int(_in_core(choice.first, core)))
    out = data.copy()
    values = source.from01(pred, data.dtype)
    for i, b in enumerate(source.bands):
        out[b - 1][fill] = values[i][fill]
    if source.alpha is not None:
        out[source.alpha - 1][fill] = np.iinfo(data.dtype).max if data.dtype.kind in "ui" else 1
    return out


def _fill_thin(source: _Source, data: np.ndarray, thin: np.ndarray) -> np.ndarray:
    """Fill the window's thin holes (scratches, dust) by biharmonic interpolation, in a copy of ``data``."""
    from geocolor.inpaint.classical import biharmonic_fill

    values = source.from01(biharmonic_fill(source.to01(data), thin), data.dtype)
    out = data.copy()
    for i, b in enumerate(source.bands):
        out[b - 1][thin] = values[i][thin]
    if source.alpha is not None:
        out[source.alpha - 1][thin] = np.iinfo(data.dtype).max if data.dtype.kind in "ui" else 1
    return out


@contextlib.contextmanager
def filled_copy(src: PathLike, next_to: PathLike, **kwargs: Any) -> Iterator[Path]:
    """Inpaint ``src`` into a temp file beside ``next_to`` (e.g. a mosaic's output), yield it, then delete it."""
    dst = Path(next_to)
    tmp = dst.parent / f".{dst.name}.{os.getpid()}.filled.tif"
    try:
        result = inpaint(src, tmp, overwrite=True, **kwargs)
        if result.unfilled_pixels:
            log.warning("fill-nodata: %d nodata pixels stay nodata (holes too large to fill)", result.unfilled_pixels)
        yield tmp
    finally:
        raster.remove_quietly(tmp)
