"""``colorize``: a gray raster of any size in, a colour GeoTIFF with the same georeferencing out.

The raster is cut into overlapping tiles (``windows.TileGrid``); the model predicts a*b* for each
tile's L*; predictions are blended with a smooth window and combined with the input's own
full-resolution L*, so detail is never lost and no seam shows. Tile columns are processed in bands
and tile rows in order, so only one strip of ``tile`` rows of one band is in memory at a time: peak
memory does not grow with the raster's size. Reads run one strip ahead in a background thread, and the
blending, colour conversion and writing of finished rows run in a writer thread while the model
works on the next strip: the main thread only feeds the model.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from geocolor import __version__, raster
from geocolor.errors import Cancelled, EngineError, InputError
from geocolor.models.colorizer import TilePredictor, is_colorizer
from geocolor.mosaic import writer
from geocolor.mosaic.windows import Band, TileGrid, blend_window
from geocolor.raster import InputPlan, is_georeferenced, open_raster, plan_input, to_lightness
from geocolor.style.apply import StyleSpec
from geocolor.types import CancelCallback, PathLike, ProgressCallback, RasterReader, RasterWriter

if TYPE_CHECKING:
    from geocolor.style.apply import StyledTranslator
    from geocolor.style.dodge import ExposureField

__all__ = ["Cancelled", "MosaicOptions", "MosaicResult", "colorize", "finite_mask"]  # Cancelled: re-exported for callers

log = logging.getLogger(__name__)

TONE_NOTE = "network input tone-matched to a target L* distribution (output keeps the input's L*)"  # GEOCOLOR_TONE tag


@dataclass
class MosaicOptions:
    """Everything ``colorize`` can be told. ``None`` means: take it from the model's metadata."""

    model: PathLike | None = None
    tile: int | None = None
    overlap: int = 32
    batch: int = 8
    device: str = "auto"
    engine: str = "auto"  # torch, onnx or auto (geocolor.models.engines)
    precision: str = "auto"  # the torch engine's: auto, fp32, bf16, fp16 (geocolor.models.precision)
    threads: int | None = None  # the engine's threads; None: the physical core count
    overwrite: bool = False
    bands: tuple[int, ...] | None = None
    percentiles: tuple[float, float] = (0.5, 99.5)
    cog: bool = True  # internal overviews (tiled, compressed GeoTIFF); see strict_cog
    strict_cog: bool = False  # the exact COG layout (GDAL's COG driver): one more pass over the written raster
    compress: str = "deflate"
    band_width: int = 8192  # pixels of tile columns processed together; bounds memory for wide rasters
    gdal_cache_mb: int = 64
    show_progress: bool = True
    # a reference raster, a named style of the model, or a ``geocolor.style.apply.StyleTarget``
    # ("auto" needs several inputs: ``geocolor.mosaic.batch.colorize_many``)
    style: StyleSpec | None = None
    style_tone: bool = True  # with a style: match each input's tone (L* distribution) to the target's before predicting
    dodge: float = 0.0  # > 0: even out the input's slow exposure changes (vignetting) over this radius in pixels, for the network only
    fill_nodata: bool = False  # inpaint the input's nodata holes first (geocolor.inpaint), then colorize
    inpaint_model: PathLike | None = None  # None: the shipped inpainting model
    # L* quantiles (geocolor.style.tone.quantiles) the input's tone is matched to before the network
    # (geocolor.mosaic.tone; the output keeps the input's L*); None: the input as it is. Not with a style.
    tone_target: tuple[float, ...] | None = None


@dataclass
class MosaicResult:
    path: Path
    width: int
    height: int
    tiles: int
    seconds: float

    @property
    def megapixels_per_second(self) -> float:
        return self.width * self.height / 1e6 / max(self.seconds, 1e-9)


@dataclass
class _Strip:
    lightness: np.ndarray  # tile x band-width float32 L*, padded past the raster edge
    mask: np.ndarray | None  # same shape, uint8 0/255, or None when every pixel is valid


def colorize(
    src: PathLike,
    dst: PathLike,
    options: MosaicOptions | None = None,
    *,
    translator: TilePredictor | None = None,
    progress: ProgressCallback | None = None,
    is_cancelled: CancelCallback | None = None,
    source_name: str | None = None,
    **overrides: Any,
) -> MosaicResult:
    """Colorize ``src`` into ``dst`` (see module docstring). Keyword overrides set ``MosaicOptions`` fields.

    ``source_name`` is what the output's ``GEOCOLOR_SOURCE`` tag names (default: ``src``'s file name).
    """
    unknown = set(overrides) - {f.name for f in fields(MosaicOptions)}
    if unknown:
        raise TypeError(f"colorize() got unknown option(s) {', '.join(sorted(unknown))}")
    opts = replace(options or MosaicOptions(), **overrides)
    src_path, dst_path = Path(src), Path(dst)
    raster.check_output(dst_path, src_path, opts.overwrite)
    if opts.fill_nodata:  # fill holes into a temp file beside dst, colorize that, delete it
        from geocolor.inpaint.engine import filled_copy

        with filled_copy(src_path, dst_path, model=opts.inpaint_model, device=opts.device, engine=opts.engine, threads=opts.threads,
                         show_progress=opts.show_progress, is_cancelled=is_cancelled) as filled:
            return colorize(filled, dst_path, replace(opts, fill_nodata=False), translator=translator, progress=progress,
                            is_cancelled=is_cancelled, source_name=f"{src_path.name} (nodata inpainted)")
    if translator is None:
        from geocolor.models.engines import load_colorizer

        translator = load_colorizer(opts.model, opts.device, opts.engine, opts.precision, opts.threads, style=opts.style)

    with raster.gdal_env(opts.gdal_cache_mb), open_raster(str(src_path)) as ds:
        plan = plan_input(ds, opts.bands, opts.percentiles)
        if not is_georeferenced(ds):
            log.warning("%s is not georeferenced (a plain image); %s will have pixel coordinates and no CRS", src_path.name, dst_path.name)
        grid = _grid(ds, translator, opts)
        dodge = _exposure_field(ds, plan, opts.dodge)
        tags = {"GEOCOLOR_VERSION": __version__, "GEOCOLOR_MODEL": str(translator.metadata.get("name", "?")), "GEOCOLOR_SOURCE": source_name or src_path.name}
        if opts.tone_target is not None:
            translator = _tone_matched(translator, opts, ds, plan, grid.tile, dodge)
            tags["GEOCOLOR_TONE"] = TONE_NOTE
        if opts.style is not None:
            styled = _styled(translator, opts.style, ds, plan, grid.tile, opts.style_tone, dodge)
            tags["GEOCOLOR_STYLE"] = styled.description
            translator = styled
        raw, tmp = raster.temp_paths(dst_path)
        try:
            started = time.perf_counter()
            if dodge is not None:
                tags["GEOCOLOR_DODGE"] = f"network input dodged, radius {opts.dodge:g} px (output keeps the input's L*)"
            with_mask = not _all_valid(ds, plan) or _is_float(ds, plan)  # NaN / inf pixels are nodata too
            if _direct(grid, opts):  # compressed blocks written as rows finish; overviews added in place
                with writer.open_direct(tmp, ds, tags, opts.compress) as out, writer.BlockRowSink(out, with_mask) as rows:
                    _run(ds, rows, plan, grid, translator, opts, with_mask, progress, is_cancelled, dodge)
                if progress:
                    progress(0.97)
                if opts.cog:
                    raster.add_overviews(tmp, opts.compress)
                raster.publish(tmp, dst_path)
            else:  # an uncompressed temp file, then one copy to a COG / tiled GeoTIFF
                with writer.open_raw(raw, ds, tags) as out:
                    _run(ds, out, plan, grid, translator, opts, with_mask, progress, is_cancelled, dodge)
                if progress:
                    progress(0.97)
                raster.finalize(raw, tmp, dst_path, opts.cog, opts.compress)
            if progress:
                progress(1.0)
        finally:
            raster.remove_quietly(raw, tmp)
    seconds = time.perf_counter() - started
    log.info("wrote %s (%d x %d) in %.1f s", dst_path, grid.width, grid.height, seconds)
    return MosaicResult(dst_path, grid.width, grid.height, grid.n_tiles, seconds)


def _grid(ds: RasterReader, translator: TilePredictor, opts: MosaicOptions) -> TileGrid:
    tile = opts.tile or translator.tile_size
    multiple = translator.tile_multiple
    if tile % multiple:
        raise InputError(f"--tile {tile} must be a multiple of {multiple} for this model")
    if not 0 <= opts.overlap < tile // 2 + 1:
        raise InputError(f"--overlap {opts.overlap} must be between 0 and half the tile ({tile // 2})")
    if opts.batch < 1:
        raise InputError("--batch must be at least 1")
    return TileGrid(ds.width, ds.height, tile, opts.overlap)


def _direct(grid: TileGrid, opts: MosaicOptions) -> bool:
    """Whether the output is written directly (see ``geocolor.mosaic.writer``): one column band, no strict COG asked for."""
    return not opts.strict_cog and len(grid.bands(max(1, opts.band_width // grid.stride))) == 1


def _exposure_field(ds: RasterReader, plan: InputPlan, radius: float) -> ExposureField | None:
    """The input's exposure field for ``--dodge`` (``geocolor.style.dodge``), or None when not dodging."""
    if radius < 0:
        raise InputError(f"--dodge {radius:g}: the radius must be 0 (off) or a number of pixels > 0")
    if not radius:
        return None
    from geocolor.style.dodge import read_exposure_field

    return read_exposure_field(ds, plan, radius)


def _tone_matched(translator: TilePredictor, opts: MosaicOptions, ds: RasterReader, plan: InputPlan, tile: int,
                  dodge: ExposureField | None = None) -> TilePredictor:
    """``translator`` seeing ``ds`` with ``opts.tone_target``'s tone (``geocolor.mosaic.tone``)."""
    from geocolor.mosaic.tone import toned

    if opts.style is not None:
        raise InputError("give a style or a tone target, not both: a style matches the tone itself (style_tone)")
    assert opts.tone_target is not None
    return toned(translator, opts.tone_target, ds, plan, tile, dodge)


def _styled(translator: TilePredictor, style: StyleSpec, ds: RasterReader, plan: InputPlan, tile: int, tone: bool = True,
            dodge: ExposureField | None = None) -> StyledTranslator:
    """The translator with ``style`` applied (``geocolor.style.apply``); ``tone=False``: no tone matching."""
    from dataclasses import replace as replace_field

    from geocolor.style.apply import resolve_style, styled_translator

    if not is_colorizer(translator):
        raise EngineError(f"--style needs the torch engine; this model runs on {translator.engine} (use --engine torch)")

    target = resolve_style(str(style), translator) if isinstance(style, (str, Path)) else style
    if not tone:
        target = replace_field(target, lightness=None)
    return styled_translator(translator, target, ds, plan, tile, dodge)


def _all_valid(ds: RasterReader, plan: InputPlan) -> bool:
    from rasterio.enums import MaskFlags

    return all(ds.mask_flag_enums[b - 1] == [MaskFlags.all_valid] for b in plan.bands)


def _is_float(ds: RasterReader, plan: InputPlan) -> bool:
    return any(np.dtype(ds.dtypes[b - 1]).kind == "f" for b in plan.bands)


def finite_mask(data: np.ndarray, mask: np.ndarray | None) -> np.ndarray | None:
    """``mask`` (0/255) with every pixel that has a NaN or infinite band value set to 0 (float input only)."""
    if data.dtype.kind != "f":
        return mask
    finite = np.isfinite(data).all(axis=0)
    if finite.all():
        return mask
    base = mask if mask is not None else np.full(finite.shape, 255, np.uint8)
    return np.where(finite, base, 0).astype(np.uint8)


def _read_strip(ds: RasterReader, plan: InputPlan, grid: TileGrid, band: Band, row: int, with_mask: bool) -> _Strip:
    """Read the input rows of tile row ``row`` for ``band``, as L*, padded to the full strip size."""
    from rasterio.windows import Window

    t, s = grid.tile, grid.stride
    x0, y0 = band.c0 * s, row * s
    width = (band.c1 - band.c0) * s + t
    win = Window(x0, y0, min(width, grid.width - x0), min(t, grid.height - y0))
    try:
        data = ds.read(list(plan.bands), window=win)
        mask = finite_mask(data, ds.dataset_mask(window=win)) if with_mask else None
    except Exception as e:  # rasterio raises several types for damaged files
        cause = e.__cause__ or e.__context__ or e
        raise InputError(
            f"{ds.name} is damaged: reading rows {y0}-{y0 + win.height} failed ({str(cause).splitlines()[0][:100]}); "
            "is the file truncated or corrupt?"
        ) from None
    lum = to_lightness(data, plan)
    pad = ((0, t - lum.shape[0]), (0, width - lum.shape[1]))
    if pad != ((0, 0), (0, 0)):
        lum = np.pad(lum, pad, mode="symmetric")
        mask = np.pad(mask, pad, mode="constant") if mask is not None else None
    return _Strip(lum, mask)


def _jobs(grid: TileGrid, bands: list[Band]) -> Iterator[tuple[Band, int]]:
    for band in bands:
        for row in range(grid.ny):
            yield band, row


def _run(
    ds: RasterReader,
    out: RasterWriter,
    plan: InputPlan,
    grid: TileGrid,
    translator: TilePredictor,
    opts: MosaicOptions,
    with_mask: bool,
    progress: ProgressCallback | None,
    is_cancelled: CancelCallback | None,
    dodge: ExposureField | None = None,
    jobs: list[tuple[Band, int]] | None = None,
) -> None:
    """Colour the (band, tile row) ``jobs`` in order (default: every band, top to bottom) into ``out``.

    ``geocolor.mosaic.parts`` passes the jobs of one window, whose rows of one band follow each other.
    """
    from tqdm import tqdm

    if jobs is None:
        jobs = list(_jobs(grid, grid.bands(max(1, opts.band_width // grid.stride))))
    total = sum((b.c1 - b.c0 + 1) for b, _ in jobs)
    window = blend_window(grid.tile, grid.overlap)
    done = 0
    with (
        tqdm(total=total, unit="tile", desc="colorize", disable=None if opts.show_progress else True, leave=False) as bar,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="geocolor-read") as reader,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="geocolor-write") as writer,
    ):
        pending = reader.submit(_read_strip, ds, plan, grid, *jobs[0], with_mask)
        written: Future[None] | None = None
        blender = _Blender(out, grid, window, with_mask)
        for k, (band, row) in enumerate(jobs):
            strip = pending.result()
            if k + 1 < len(jobs):
                pending = reader.submit(_read_strip, ds, plan, grid, *jobs[k + 1], with_mask)
            if is_cancelled and is_cancelled():
                raise Cancelled("cancelled; no output was written")
            seen = strip.lightness if dodge is None else dodge.apply(strip.lightness, band.c0 * grid.stride, row * grid.stride)
            preds = _predict_strip(seen, band, grid, translator, opts.batch)
            if written is not None:
                written.result()  # at most one strip in flight: bounded memory, errors surface here
            written = writer.submit(blender.add, strip, band, row, preds)
            n = band.c1 - band.c0 + 1
            done += n
            bar.update(n)
            if progress:
                progress(0.95 * done / total)
        if written is not None:
            written.result()


def _predict_strip(lum: np.ndarray, band: Band, grid: TileGrid, translator: TilePredictor, batch: int) -> np.ndarray:
    """Predicted a*b* for every tile of one strip, (n_tiles, 2, tile, tile) float32."""
    t, s = grid.tile, grid.stride
    offsets = [(c - band.c0) * s for c in range(band.c0, band.c1 + 1)]
    out = []
    for i in range(0, len(offsets), batch):
        tiles = np.stack([lum[:, x : x + t] for x in offsets[i : i + batch]])[:, None]
        out.append(translator.predict_array(tiles))
    preds = np.concatenate(out)
    if not np.isfinite(preds).all():
        log.warning("the model predicted NaN/inf chroma for %d pixels; they are drawn gray (lightness kept)", int((~np.isfinite(preds)).sum()))
    return preds


class _Blender:
    """The strip accumulator, used from the writer thread only: adds weighted tile predictions,
    writes the rows each tile row completes, then moves down by one tile row."""

    def __init__(self, out: RasterWriter, grid: TileGrid, window: np.ndarray, with_mask: bool) -> None:
        self.out, self.grid, self.window, self.with_mask = out, grid, window, with_mask
        self.acc: np.ndarray | None = None

    def add(self, strip: _Strip, band: Band, row: int, preds: np.ndarray) -> None:
        t, s = self.grid.tile, self.grid.stride
        if row == 0 or self.acc is None:
            self.acc = np.zeros((3, t, strip.lightness.shape[1]), dtype=np.float32)
        acc = self.acc
        for i, pred in enumerate(preds):
            acc[:2, :, i * s : i * s + t] += pred * self.window
            acc[2, :, i * s : i * s + t] += self.window
        r0, r1 = self.grid.final_rows(row)
        if r1 > r0 and band.x1 > band.x0:
            top = row * s
            _emit(self.out, acc[:, r0 - top : r1 - top], strip, band, row, self.grid, self.with_mask)
        _shift(acc, s)


def _emit(out: RasterWriter, rows_acc: np.ndarray, strip: _Strip, band: Band, row: int, grid: TileGrid, with_mask: bool,
          chunk: int = 32) -> None:
    """Blend, convert to 8-bit sRGB and write the completed rows of one strip, for the band's final columns.

    ``rows_acc`` holds the accumulator rows of those rows. Rows are converted ``chunk`` at a time to
    keep temporary arrays small (in cache). Runs in the writer thread.
    """
    from rasterio.windows import Window

    from geocolor.color import lab_planes_to_srgb8

    r0, r1 = grid.final_rows(row)
    top, left = row * grid.stride, band.c0 * grid.stride
    cols = slice(band.x0 - left, band.x1 - left)
    for y in range(r0, r1, chunk):
        local = slice(y - r0, min(y + chunk, r1) - r0)
        rows = slice(y - top, min(y + chunk, r1) - top)
        weight = rows_acc[2, local, cols]
        rgb8 = lab_planes_to_srgb8(strip.lightness[rows, cols], rows_acc[0, local, cols] / weight, rows_acc[1, local, cols] / weight)
        win = Window(band.x0, y, band.x1 - band.x0, rows.stop - rows.start)
        if with_mask and strip.mask is not None:
            mask = strip.mask[rows, cols]
            rgb8[:, mask == 0] = 0
            out.write_mask(np.ascontiguousarray(mask), window=win)
        out.write(rgb8, window=win)


def _shift(acc: np.ndarray, stride: int) -> None:
    """Move the accumulator down by one tile row: keep the overlap rows, zero the rest."""
    keep = acc.shape[1] - stride
    if keep > 0:
        acc[:, :keep] = acc[:, stride:]
    acc[:, max(keep, 0) :] = 0.0
