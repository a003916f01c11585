"""One raster coloured window by window: each window into its own part file, then one join into OUT.

``colorize_window`` colours the tiles of one window of the tile grid (a column band of the engine
times a block of tile rows; ``TileGrid.row_blocks``) exactly as ``colorize`` would, and keeps only
the pixels the window finalises; ``join_windows`` copies the parts into one output with
``colorize``'s own way (compressed blocks straight into a temp file, or a raw temp file then a COG;
then the rename). Each output pixel is blended from
the same tiles, predicted in the same batches and added in the same order as in one pass, so the
joined output equals ``colorize``'s byte for byte.

Part files are tiled, compressed GeoTIFFs without georeferencing (intermediate files, read once by
the join), carrying the output's tags and, where the output has one, its mask.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np

from geocolor import __version__, raster
from geocolor.errors import GeocolorIOError, InputError
from geocolor.models.colorizer import Colorizer, TilePredictor
from geocolor.mosaic import writer
from geocolor.mosaic.engine import TONE_NOTE, MosaicOptions, MosaicResult, _all_valid, _grid, _is_float, _run, _tone_matched
from geocolor.mosaic.windows import Band
from geocolor.raster import open_raster, plan_input
from geocolor.types import PathLike, RasterWriter

log = logging.getLogger(__name__)

COPY_ROWS = 512  # rows copied at a time by the join: bounded memory whatever the window size


def colorize_window(src: PathLike, part: PathLike, cols: Band, rows: Band, options: MosaicOptions, *, translator: Colorizer) -> Path:
    """Colour the window ``cols`` x ``rows`` of ``src`` into the part file ``part`` (written whole or not at all).

    ``cols`` must be one of the engine's bands for ``options.band_width`` and ``rows`` a block of
    ``TileGrid.row_blocks``; styles, dodging and nodata filling need the whole raster and are refused.
    """
    if options.style is not None or options.dodge or options.fill_nodata:
        raise InputError("a raster coloured in windows cannot use --style, --dodge or --fill-nodata; colour it whole")
    src_path, part_path = Path(src), Path(part)
    with raster.gdal_env(options.gdal_cache_mb), open_raster(str(src_path)) as ds:
        plan = plan_input(ds, options.bands, options.percentiles)
        grid = _grid(ds, translator, options)
        with_mask = not _all_valid(ds, plan) or _is_float(ds, plan)
        tags = {"GEOCOLOR_VERSION": __version__, "GEOCOLOR_MODEL": str(translator.metadata.get("name", "?")),
                "GEOCOLOR_SOURCE": src_path.name}
        predictor: TilePredictor = translator
        if options.tone_target is not None:  # measured on the whole raster's fixed sample tiles: the same curve in every window
            predictor = _tone_matched(translator, options, ds, plan, grid.tile)
            tags["GEOCOLOR_TONE"] = TONE_NOTE
        raw, tmp = raster.temp_paths(part_path)
        try:
            with _open_part(raw, cols.x1 - cols.x0, rows.x1 - rows.x0, tags) as out:
                jobs = [(cols, row) for row in range(rows.c0, rows.c1 + 1)]
                _run(ds, _Clipped(out, cols.x0, rows.x0, cols.x1, rows.x1), plan, grid, predictor, options, with_mask, None, None,
                     None, jobs)
            raster.finalize(raw, tmp, part_path, False, options.compress)
        finally:
            raster.remove_quietly(raw, tmp)
    return part_path


def join_windows(src: PathLike, parts: Sequence[tuple[PathLike, tuple[int, int, int, int]]], dst: PathLike,
                 options: MosaicOptions) -> MosaicResult:
    """Copy the part files (each with the (x0, y0, x1, y1) box it covers) into ``dst``, as ``colorize`` writes it.

    ``dst`` is replaced when it exists (the caller decides about overwriting).
    """
    started = time.perf_counter()
    dst_path = Path(dst)
    if not parts:
        raise InputError(f"no windows to join into {dst_path.name}")
    with raster.gdal_env(options.gdal_cache_mb), open_raster(str(src)) as ds:
        plan = plan_input(ds, options.bands, options.percentiles)
        with_mask = not _all_valid(ds, plan) or _is_float(ds, plan)
        with open_raster(str(parts[0][0])) as first:
            tags = {k: v for k, v in first.tags().items() if k.startswith("GEOCOLOR_")}
        boxes = [box for _, box in parts]
        _check_cover(ds.width, ds.height, boxes)
        # as colorize writes: straight into the compressed file when the raster is one column band
        direct = not options.strict_cog and all(x0 == 0 and x1 == ds.width for x0, _, x1, _ in boxes)
        raw, tmp = raster.temp_paths(dst_path)
        try:
            if direct:
                with writer.open_direct(tmp, ds, tags, options.compress) as out, writer.BlockRowSink(out, with_mask) as rows:
                    _copy_parts(sorted(parts, key=lambda p: p[1][1]), rows, with_mask)
                if options.cog:
                    raster.add_overviews(tmp, options.compress)
                raster.publish(tmp, dst_path)
            else:
                with writer.open_raw(raw, ds, tags) as out:
                    _copy_parts(parts, out, with_mask)
                raster.finalize(raw, tmp, dst_path, options.cog, options.compress)
        finally:
            raster.remove_quietly(raw, tmp)
        width, height = ds.width, ds.height
    seconds = time.perf_counter() - started
    log.info("joined %d windows into %s in %.1f s", len(parts), dst_path, seconds)
    return MosaicResult(dst_path, width, height, 0, seconds)


def _copy_parts(parts: Sequence[tuple[PathLike, tuple[int, int, int, int]]], out: RasterWriter, with_mask: bool) -> None:
    """Copy each part into its box of ``out``, ``COPY_ROWS`` rows at a time, top to bottom."""
    from rasterio.windows import Window

    for part, (x0, y0, x1, y1) in parts:
        with open_raster(str(part)) as p:
            if (p.width, p.height) != (x1 - x0, y1 - y0):
                raise InputError(f"part {part} is {p.width} x {p.height}, not the {x1 - x0} x {y1 - y0} of its window")
            for y in range(0, p.height, COPY_ROWS):
                win = Window(0, y, p.width, min(COPY_ROWS, p.height - y))
                at = Window(x0, y0 + y, win.width, win.height)
                if with_mask:
                    out.write_mask(np.ascontiguousarray(p.dataset_mask(window=win)), window=at)
                out.write(p.read(window=win), window=at)


def _check_cover(width: int, height: int, boxes: list[tuple[int, int, int, int]]) -> None:
    """Refuse boxes that do not tile the raster exactly (each pixel once)."""
    if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes) != width * height or any(
        x0 < 0 or y0 < 0 or x1 > width or y1 > height or x1 <= x0 or y1 <= y0 for x0, y0, x1, y1 in boxes
    ):
        raise InputError(f"the windows do not cover the {width} x {height} raster exactly once")


def _open_part(path: Path, width: int, height: int, tags: dict[str, str]) -> RasterWriter:
    """An uncompressed tiled 3-band temp GeoTIFF of one window (no georeferencing: an intermediate file)."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    profile: dict[str, Any] = {"driver": "GTiff", "width": width, "height": height, "count": 3, "dtype": "uint8",
                               "photometric": "RGB", "tiled": True, "blockxsize": 256, "blockysize": 256, "BIGTIFF": "IF_SAFER"}
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        try:
            out: RasterWriter = rasterio.open(path, "w", **profile)
        except (rasterio.errors.RasterioIOError, OSError) as e:
            raise GeocolorIOError(f"cannot write in {path.parent}: {str(e).splitlines()[0][:150]}") from None
    out.update_tags(**tags)
    return out


class _Clipped:
    """A ``RasterWriter`` over the box (x0, y0, x1, y1) of a larger raster: writes in the larger raster's
    coordinates land shifted into ``out``, and whatever falls outside the box is dropped."""

    def __init__(self, out: RasterWriter, x0: int, y0: int, x1: int, y1: int) -> None:
        self.out = out
        self.x0, self.y0, self.x1, self.y1 = x0, y0, x1, y1
        self.name, self.width, self.height, self.count = out.name, x1 - x0, y1 - y0, out.count
        self.gcps, self.colorinterp = out.gcps, out.colorinterp

    def _clip(self, arr: np.ndarray, window: Any) -> tuple[np.ndarray, Any] | None:
        from rasterio.windows import Window

        c0, r0 = max(int(window.col_off), self.x0), max(int(window.row_off), self.y0)
        c1 = min(int(window.col_off + window.width), self.x1)
        r1 = min(int(window.row_off + window.height), self.y1)
        if c1 <= c0 or r1 <= r0:
            return None
        rows = slice(r0 - int(window.row_off), r1 - int(window.row_off))
        cols = slice(c0 - int(window.col_off), c1 - int(window.col_off))
        return np.ascontiguousarray(arr[..., rows, cols]), Window(c0 - self.x0, r0 - self.y0, c1 - c0, r1 - r0)

    def write(self, arr: np.ndarray, indexes: int | Sequence[int] | None = None, window: Any = None) -> None:
        clipped = self._clip(arr, window)
        if clipped is not None:
            self.out.write(clipped[0], indexes, window=clipped[1])

    def write_mask(self, mask_array: np.ndarray, window: Any = None) -> None:
        clipped = self._clip(mask_array, window)
        if clipped is not None:
            self.out.write_mask(clipped[0], window=clipped[1])

    def update_tags(self, **tags: str) -> None:
        self.out.update_tags(**tags)

    def set_band_description(self, bidx: int, value: str) -> None:
        self.out.set_band_description(bidx, value)

    def close(self) -> None:
        self.out.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
