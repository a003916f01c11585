"""Sources of chips: a raster, a VRT, or a folder of GeoTIFF tiles, read window by window.

A ``Source`` is one pixel grid (CRS, transform, size) made of one or more aligned, non-overlapping
files (``Tile``). A single raster or VRT is a source of one tile; a folder of tiles on one grid (what
``geocolor harvest`` writes) becomes one seamless source, so chips may cross tile edges. Files that
overlap (ten years of the same area) or sit on different grids become separate sources; the block
grid of the spatial split is shared by all of them, so one place always lands in one split.

``SourceReader.read(window)`` returns a ``Patch`` (bands, valid mask, window, bounds, CRS) from
windowed reads only, so memory stays bounded by the chip size whatever the raster size. Sources that
are not 8-bit are stretched to 8 bits with per-band percentiles taken from a decimated read.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.crs import CRS
from rasterio.errors import NodataShadowWarning
from rasterio.transform import Affine
from rasterio.windows import Window

from geocolor.errors import InputError
from geocolor.raster import open_raster
from geocolor.types import RasterReader

log = logging.getLogger(__name__)

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".jp2", ".img", ".png", ".jpg", ".jpeg")


def apply(t: Affine, x: float, y: float) -> tuple[float, float]:
    """``t`` applied to the point (x, y) (spelled out: affine's ``*``/``@`` differ between versions)."""
    return t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f


@dataclass(frozen=True)
class Tile:
    """One file of a source, placed at (row_off, col_off) in the source's pixel grid."""

    path: str
    row_off: int
    col_off: int
    height: int
    width: int


@dataclass
class Source:
    """One pixel grid: CRS, transform, size, the bands to read and the files that fill it."""

    name: str
    path: str
    crs: CRS | None
    transform: Affine
    width: int
    height: int
    bands: list[int]
    dtype: str
    tiles: list[Tile]
    stretch: list[tuple[float, float]] | None = None  # per band (low, high) -> 0..255; None for 8-bit

    @property
    def res(self) -> tuple[float, float]:
        return abs(self.transform.a), abs(self.transform.e)

    def window_bounds(self, window: Window) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of a window, in the source CRS (pixel units without one)."""
        x0, y0 = apply(self.transform, window.col_off, window.row_off)
        x1, y1 = apply(self.transform, window.col_off + window.width, window.row_off + window.height)
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


@dataclass
class Patch:
    """What one windowed read returns: uint8 bands (C x H x W), the valid mask, and where it is."""

    data: np.ndarray
    valid: np.ndarray
    window: Window
    bounds: tuple[float, float, float, float]
    crs: CRS | None


def find_rasters(path: str) -> list[str]:
    """The raster files of ``path``: itself if a file, else every raster below the folder (sorted)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path} does not exist")
    if p.is_file():
        return [str(p)]
    files = sorted(str(f) for f in p.rglob("*") if f.is_file() and f.suffix.lower() in RASTER_SUFFIXES)
    # A folder written by harvest holds its tiles and a VRT over them: take the tiles, not both.
    tiles = [f for f in files if not f.lower().endswith(".vrt")]
    files = tiles or files
    if not files:
        raise InputError(f"{path} holds no raster files ({', '.join(RASTER_SUFFIXES)})")
    return files


def _open_meta(path: str) -> dict[str, Any]:
    with open_raster(path) as ds:
        return {
            "crs": ds.crs, "transform": ds.transform, "width": ds.width, "height": ds.height,
            "count": ds.count, "dtype": ds.dtypes[0], "colorinterp": [c.name for c in ds.colorinterp],
        }


def default_bands(meta: dict[str, Any], gray: bool) -> list[int]:
    """Colour bands by colour interpretation (red, green, blue), else 1, 2, 3; band 1 for gray-only files."""
    if gray and meta["count"] < 3:
        return [1]
    names = meta["colorinterp"]
    if all(c in names for c in ("red", "green", "blue")):
        return [names.index(c) + 1 for c in ("red", "green", "blue")]
    return [1, 2, 3]


def _grid_key(meta: dict[str, Any]) -> tuple[Any, ...]:
    t: Affine = meta["transform"]
    phase = (round((t.c / t.a) % 1, 3) % 1, round((t.f / t.e) % 1, 3) % 1)
    crs = meta["crs"].to_wkt() if meta["crs"] else None
    return crs, round(t.a, 9), round(t.e, 9), t.b, t.d, phase, meta["count"], meta["dtype"]


def _pixel_offset(meta: dict[str, Any], origin: Affine) -> tuple[int, int]:
    col, row = apply(~origin, meta["transform"].c, meta["transform"].f)
    return round(row), round(col)


def _layers(group: list[tuple[str, dict[str, Any]]]) -> list[list[tuple[str, dict[str, Any]]]]:
    """Split files on one grid into layers of non-overlapping files (one layer per date, say)."""
    layers: list[list[tuple[str, dict[str, Any]]]] = []
    boxes: list[list[tuple[float, float, float, float]]] = []
    for path, meta in group:
        t, w, h = meta["transform"], meta["width"], meta["height"]
        x0, y0 = apply(t, 0, 0)
        x1, y1 = apply(t, w, h)
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        tol = 0.5 * abs(t.a)
        for layer, lboxes in zip(layers, boxes, strict=True):
            if all(box[2] - tol <= b[0] or b[2] - tol <= box[0] or box[3] - tol <= b[1] or b[3] - tol <= box[1] for b in lboxes):
                layer.append((path, meta))
                lboxes.append(box)
                break
        else:
            layers.append([(path, meta)])
            boxes.append([box])
    return layers


def _source_from_layer(name: str, path: str, layer: list[tuple[str, dict[str, Any]]], bands: list[int]) -> Source:
    metas = [m for _, m in layer]
    t0: Affine = metas[0]["transform"]
    cols = [apply(~t0, m["transform"].c, m["transform"].f) for m in metas]
    col_min = min(round(c) for c, _ in cols)
    row_min = min(round(r) for _, r in cols)
    x0, y0 = apply(t0, col_min, row_min)
    origin = Affine(t0.a, t0.b, x0, t0.d, t0.e, y0)
    tiles = []
    for (file, meta) in layer:
        row, col = _pixel_offset(meta, origin)
        tiles.append(Tile(file, row, col, meta["height"], meta["width"]))
    width = max(t.col_off + t.width for t in tiles)
    height = max(t.row_off + t.height for t in tiles)
    return Source(name, path, metas[0]["crs"], origin, width, height, bands, metas[0]["dtype"], tiles)


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "src"


def open_sources(paths: list[str], bands: list[int] | None = None, gray: bool = False) -> list[Source]:
    """Open every path (raster, VRT or folder) as sources; ``gray`` allows one-band files (domain A)."""
    sources: list[Source] = []
    for path in paths:
        metas = [(f, _open_meta(f)) for f in find_rasters(path)]
        groups: dict[tuple[Any, ...], list[tuple[str, dict[str, Any]]]] = {}
        for file, meta in metas:
            groups.setdefault(_grid_key(meta), []).append((file, meta))
        for group in groups.values():
            for layer in _layers(group):
                meta = layer[0][1]
                use = bands or default_bands(meta, gray)
                if max(use) > meta["count"]:
                    hint = "; gray historical photos go to --unpaired-a" if not gray else ""
                    raise InputError(f"{layer[0][0]} has {meta['count']} band(s); colour chips need bands {use}{hint}")
                name = Path(layer[0][0]).stem if len(layer) == 1 else Path(path).name
                sources.append(_source_from_layer(_safe_name(name), path, layer, use))
    _unique_names(sources)
    for src in sources:
        if src.dtype != "uint8":
            src.stretch = estimate_stretch(src)
    return sources


def _unique_names(sources: list[Source]) -> None:
    seen: dict[str, int] = {}
    for src in sources:
        n = seen.get(src.name, 0)
        seen[src.name] = n + 1
        if n:
            src.name = f"{src.name}-{n}"


def estimate_stretch(src: Source, low: float = 0.5, high: float = 99.5, max_side: int = 512) -> list[tuple[float, float]]:
    """Per-band percentiles from decimated reads of (up to 8 of) the source's files."""
    picks = src.tiles[:: max(1, len(src.tiles) // 8)][:8]
    values: list[list[np.ndarray]] = [[] for _ in src.bands]
    for tile in picks:
        with open_raster(tile.path) as ds:
            f = max(1, max(ds.width, ds.height) // max_side)
            arr = ds.read(src.bands, out_shape=(len(src.bands), max(1, ds.height // f), max(1, ds.width // f)), masked=True)
        for i in range(len(src.bands)):
            values[i].append(np.ma.compressed(arr[i]).astype(np.float64))
    out = []
    for v in values:
        flat = np.concatenate(v) if v else np.zeros(1)
        lo, hi = (np.percentile(flat, (low, high)) if flat.size else (0.0, 1.0))
        out.append((float(lo), float(max(hi, lo + 1e-6))))
    log.info("%s is %s; stretching to 8 bits with per-band percentiles %s", src.name, src.dtype, out)
    return out


def to_uint8(data: np.ndarray, stretch: list[tuple[float, float]] | None) -> np.ndarray:
    if stretch is None:
        return data.astype(np.uint8, copy=False)
    out = np.empty(data.shape, dtype=np.uint8)
    for i, (lo, hi) in enumerate(stretch):
        out[i] = np.clip((data[i].astype(np.float64) - lo) * (255.0 / (hi - lo)) + 0.5, 0, 255).astype(np.uint8)
    return out


def _valid(ds: RasterReader, bands: list[int], **kwargs: Any) -> np.ndarray:
    """Valid where any of the read bands is valid (GDAL's dataset-mask rule); alpha or nodata, as the file says.

    rasterio warns when a 4-band file with a nodata value might mean band 4 as alpha (NAIP's RGBN does
    not): the nodata value is the right rule there, so the warning is silenced.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NodataShadowWarning)
        return np.any(ds.read_masks(bands, **kwargs) > 0, axis=0)


class SourceReader:
    """Windowed reads from a source, keeping a few files open (use as a context manager)."""

    def __init__(self, source: Source, max_open: int = 16) -> None:
        self.source = source
        self.max_open = max_open
        self._open: OrderedDict[str, Any] = OrderedDict()
        self._offsets = np.array([[t.row_off, t.col_off, t.row_off + t.height, t.col_off + t.width] for t in source.tiles])

    def __enter__(self) -> SourceReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        while self._open:
            self._open.popitem()[1].close()

    def _dataset(self, path: str) -> Any:
        if path in self._open:
            self._open.move_to_end(path)
            return self._open[path]
        if len(self._open) >= self.max_open:
            self._open.popitem(last=False)[1].close()
        ds = open_raster(path)
        self._open[path] = ds
        return ds

    def read(self, window: Window) -> Patch:
        """Bands (uint8, C x H x W) and valid mask of ``window``; pixels outside every file are invalid."""
        src = self.source
        r0, c0 = int(window.row_off), int(window.col_off)
        h, w = int(window.height), int(window.width)
        raw = np.zeros((len(src.bands), h, w), dtype=src.dtype)
        valid = np.zeros((h, w), dtype=bool)
        hits = np.nonzero((self._offsets[:, 0] < r0 + h) & (self._offsets[:, 2] > r0)
                          & (self._offsets[:, 1] < c0 + w) & (self._offsets[:, 3] > c0))[0]
        for i in hits:
            tile = src.tiles[i]
            top, left = max(r0, tile.row_off), max(c0, tile.col_off)
            bottom = min(r0 + h, tile.row_off + tile.height)
            right = min(c0 + w, tile.col_off + tile.width)
            local = Window(left - tile.col_off, top - tile.row_off, right - left, bottom - top)
            ds = self._dataset(tile.path)
            out = (slice(None), slice(top - r0, bottom - r0), slice(left - c0, right - c0))
            raw[out] = ds.read(src.bands, window=local)
            valid[out[1:]] = _valid(ds, src.bands, window=local)
        return Patch(to_uint8(raw, src.stretch), valid, window, src.window_bounds(window), src.crs)

    def valid_overview(self, factor: int) -> np.ndarray:
        """The valid mask decimated by ``factor`` (ceil(H/f) x ceil(W/f)), from decimated reads of each file."""
        src = self.source
        out = np.zeros((-(-src.height // factor), -(-src.width // factor)), dtype=bool)
        for tile in src.tiles:
            ds = self._dataset(tile.path)
            r0, c0 = tile.row_off // factor, tile.col_off // factor
            r1 = min(out.shape[0], -(-(tile.row_off + tile.height) // factor))
            c1 = min(out.shape[1], -(-(tile.col_off + tile.width) // factor))
            if r1 > r0 and c1 > c0:
                out[r0:r1, c0:c1] |= _valid(ds, src.bands, out_shape=(len(src.bands), r1 - r0, c1 - c0))
        return out
