"""Tile grids and the choice of tiles inside an AOI.

A :class:`TileGrid` is one zoom level of a tiling scheme: its CRS, the tile size in pixels, the
bounds of any tile and the tiles under a rectangle. Two kinds exist:

* :class:`TmsGrid` wraps a morecantile ``TileMatrixSet`` built from the WMTS capabilities' own
  definition, so any TMS works (WebMercatorQuad, WGS1984Quad with its latitude-first axes, a UTM or
  national grid such as CanadianNAD83_LCC), whatever its CRS's axis order;
* :class:`XyzGrid` is the Google/OSM scheme, through mercantile.

:func:`select_tiles` reprojects the AOI polygon into the grid's CRS (edges densified) and keeps the
tiles whose area overlaps the polygon itself, not merely its bounding box. Candidates are looked up
from the AOI's bounds *in the grid CRS*: corners of a geographic box are not enough in a conic or
transverse projection, where the box's edges bulge.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np
import pyproj
import shapely

from geocolor.aoi import AOI, Bounds, parse_crs
from geocolor.errors import InputError
from geocolor.harvest.errors import CapabilitiesError

log = logging.getLogger(__name__)

# OGC's standardized rendering pixel size (metres), which links scale denominators to cell sizes.
OGC_PIXEL_SIZE = 0.28e-3
_CHUNK = 65536


class TileKey(NamedTuple):
    """One tile: the tile matrix (zoom) identifier, its column and its row."""

    matrix: str
    col: int
    row: int

    @property
    def name(self) -> str:
        return f"{self.matrix}/{self.col}/{self.row}"


class TileGrid(Protocol):
    """One zoom level of a tiling scheme (its members are read, never set: a dataclass field or a property will do)."""

    @property
    def name(self) -> str: ...

    @property
    def crs(self) -> pyproj.CRS: ...

    @property
    def matrix_id(self) -> str: ...

    @property
    def tile_width(self) -> int: ...

    @property
    def tile_height(self) -> int: ...

    def candidates(self, bounds: Bounds) -> Iterator[tuple[int, int]]:
        """(col, row) of every tile whose area meets ``bounds`` (given in :attr:`crs`)."""
        ...

    def tile_bounds(self, col: int, row: int) -> Bounds:
        """(left, bottom, right, top) of a tile in :attr:`crs`, x/easting first."""
        ...

    def extent(self) -> Bounds:
        """The area tiles may be fetched from (the layer's limits, else the whole matrix)."""
        ...


@dataclass
class TmsGrid:
    """One tile matrix of a morecantile TileMatrixSet, optionally clipped to the layer's limits."""

    name: str
    tms: Any  # morecantile.TileMatrixSet
    zoom: int  # morecantile's integer id of the matrix
    matrix_id: str  # the identifier the server knows the matrix by
    crs: pyproj.CRS
    limits: tuple[int, int, int, int] | None = None  # min_col, min_row, max_col, max_row
    tile_width: int = field(init=False)
    tile_height: int = field(init=False)

    def __post_init__(self) -> None:
        matrix = self.tms.matrix(self.zoom)
        self.tile_width, self.tile_height = matrix.tileWidth, matrix.tileHeight

    def candidates(self, bounds: Bounds) -> Iterator[tuple[int, int]]:
        left, bottom, right, top = bounds
        for tile in self.tms.tiles(left, bottom, right, top, [self.zoom], geographic_crs=self.crs):
            if self.limits is None or _within(tile.x, tile.y, self.limits):
                yield tile.x, tile.y

    def tile_bounds(self, col: int, row: int) -> Bounds:
        b = self.tms.xy_bounds(col, row, self.zoom)
        return (b.left, b.bottom, b.right, b.top)

    def extent(self) -> Bounds:
        if self.limits is None:
            b = self.tms.xy_bbox
            return (b.left, min(b.bottom, b.top), b.right, max(b.bottom, b.top))
        min_col, min_row, max_col, max_row = self.limits
        corners = [self.tile_bounds(min_col, min_row), self.tile_bounds(max_col, max_row)]
        return (
            min(c[0] for c in corners), min(c[1] for c in corners),
            max(c[2] for c in corners), max(c[3] for c in corners),
        )


def _within(col: int, row: int, limits: tuple[int, int, int, int]) -> bool:
    min_col, min_row, max_col, max_row = limits
    return min_col <= col <= max_col and min_row <= row <= max_row


@dataclass
class XyzGrid:
    """The XYZ (Google/OSM, EPSG:3857) scheme at one zoom, through mercantile."""

    zoom: int
    tile_width: int = 256
    name: str = "xyz"
    crs: pyproj.CRS = field(default_factory=lambda: pyproj.CRS.from_epsg(3857))

    @property
    def matrix_id(self) -> str:
        return str(self.zoom)

    @property
    def tile_height(self) -> int:
        return self.tile_width

    def candidates(self, bounds: Bounds) -> Iterator[tuple[int, int]]:
        import mercantile

        left, bottom, right, top = bounds
        west, south = mercantile.lnglat(left, bottom, truncate=True)
        east, north = mercantile.lnglat(right, top, truncate=True)
        for tile in mercantile.tiles(west, south, east, north, [self.zoom]):
            yield tile.x, tile.y

    def tile_bounds(self, col: int, row: int) -> Bounds:
        import mercantile

        b = mercantile.xy_bounds(col, row, self.zoom)
        return (b.left, b.bottom, b.right, b.top)

    def extent(self) -> Bounds:
        import mercantile

        last = 2**self.zoom - 1
        return (mercantile.xy_bounds(0, 0, self.zoom).left, mercantile.xy_bounds(0, last, self.zoom).bottom,
                mercantile.xy_bounds(last, 0, self.zoom).right, mercantile.xy_bounds(0, 0, self.zoom).top)


def capabilities_crs(text: str) -> pyproj.CRS:
    """The CRS of a capabilities TileMatrixSet (URL, URN with or without a version, or EPSG code)."""
    try:
        return parse_crs(text)
    except InputError:
        match = re.search(r"EPSG:[\d.:]*:(\d+)$", text)
        if match:
            return pyproj.CRS.from_epsg(int(match.group(1)))
        raise CapabilitiesError(f"the tile matrix set's CRS {text!r} is not one PROJ knows") from None


def build_tms(caps_tms: Any) -> tuple[Any, dict[str, int], pyproj.CRS]:
    """A morecantile TileMatrixSet from an owslib one, with the matrix identifier -> integer id map.

    Matrix identifiers that are not integers (``EPSG:3857:16``, ``L16``) are numbered from the
    coarsest scale. ``TopLeftCorner`` goes in as written (the CRS's axis order): morecantile reads it so.
    """
    import morecantile
    from morecantile.utils import meters_per_unit
    from pydantic import ValidationError

    crs = capabilities_crs(caps_tms.crs)
    matrices = sorted(caps_tms.tilematrix.values(), key=lambda m: -m.scaledenominator)
    ids = [m.identifier for m in matrices]
    numeric = all(re.fullmatch(r"-?\d+", i) for i in ids) and len(set(map(int, ids))) == len(ids)
    index = {m: (int(m) if numeric else n) for n, m in enumerate(ids)}
    mpu = meters_per_unit(crs)
    try:
        tms = morecantile.TileMatrixSet(
            id=caps_tms.identifier if re.fullmatch(r"[\w\-]+", caps_tms.identifier) else None,
            crs=crs.srs,
            tileMatrices=[_matrix(m, index[m.identifier], mpu) for m in matrices],
        )
    except (ValidationError, ValueError) as e:
        raise CapabilitiesError(f"tile matrix set {caps_tms.identifier!r} cannot be used: {e}") from e
    registered = _registered_twin(tms, caps_tms.identifier, crs)
    return (registered or tms), index, crs


def _registered_twin(tms: Any, identifier: str, crs: pyproj.CRS) -> Any | None:
    """morecantile's own definition of a well-known TMS, when the capabilities describe the same grid.

    WMTS 1.0 publishes only scale denominators, from which cell sizes follow by the 0.28 mm
    convention; a few TMS 2.0 definitions (CanadianNAD83_LCC) set cell sizes that do not follow it.
    Their registered definition is the exact one, and servers built on morecantile tile by it.
    """
    import morecantile

    if identifier not in morecantile.tms.list():
        return None
    twin = morecantile.tms.get(identifier)
    if pyproj.CRS.from_wkt(twin.crs.to_wkt()) != crs or len(twin.tileMatrices) < len(tms.tileMatrices):
        return None
    ours = {m.id: m for m in tms.tileMatrices}
    theirs = {m.id: m for m in twin.tileMatrices}
    if not all(k in theirs and _same_matrix(m, theirs[k]) for k, m in ours.items()):
        return None
    if any(abs(m.cellSize - theirs[k].cellSize) > 1e-9 * m.cellSize for k, m in ours.items()):
        log.info("using morecantile's definition of %s: its cell sizes do not follow the 0.28 mm convention", identifier)
    return twin


def _same_matrix(a: Any, b: Any) -> bool:
    def close(x: float, y: float) -> bool:
        return abs(x - y) <= 1e-6 * max(1.0, abs(x), abs(y))

    return (
        (a.tileWidth, a.tileHeight, a.matrixWidth, a.matrixHeight) == (b.tileWidth, b.tileHeight, b.matrixWidth, b.matrixHeight)
        and close(a.scaleDenominator, b.scaleDenominator)
        and all(close(x, y) for x, y in zip(a.pointOfOrigin, b.pointOfOrigin, strict=True))
        and a.cornerOfOrigin == b.cornerOfOrigin
    )


def _matrix(m: Any, idx: int, mpu: float) -> dict[str, Any]:
    return {
        "id": str(idx), "scaleDenominator": m.scaledenominator, "cellSize": m.scaledenominator * OGC_PIXEL_SIZE / mpu,
        "pointOfOrigin": list(m.topleftcorner), "tileWidth": m.tilewidth, "tileHeight": m.tileheight,
        "matrixWidth": m.matrixwidth, "matrixHeight": m.matrixheight,
    }


def select_tiles(grid: TileGrid, aoi: AOI, within: AOI | None = None) -> list[TileKey]:
    """Tiles of ``grid`` whose area overlaps the AOI polygon (touching along an edge is not overlap).

    ``within`` (the layer's advertised extent) further limits the area: tiles outside it hold no data.
    """
    if within is not None:
        aoi = clip_aoi(aoi, within)
    region = aoi.to_crs(grid.crs).geometry
    if region.is_empty or region.area == 0:
        return []
    shapely.prepare(region)
    keys: set[TileKey] = set()
    for part in parts(region):  # a multi-part AOI (across the antimeridian, say) is not one world-wide box
        batch: list[tuple[int, int]] = []
        for cell in grid.candidates(part.bounds):
            batch.append(cell)
            if len(batch) >= _CHUNK:
                keys.update(_overlapping(grid, region, batch))
                batch = []
        keys.update(_overlapping(grid, region, batch))
    return sorted(keys, key=lambda k: (k.row, k.col))


def parts(geometry: Any) -> list[Any]:
    """The polygons of a (multi)polygon or collection, each searched for tiles by its own bounds."""
    return list(getattr(geometry, "geoms", [geometry]))


def estimate_tiles(grid: TileGrid, aoi: AOI) -> int:
    """An upper bound of the tiles ``select_tiles`` can return, from the parts' bounds alone (no enumeration)."""
    left, bottom, right, top = grid.tile_bounds(0, 0)
    span_x, span_y = abs(right - left), abs(top - bottom)
    total = 0
    for part in parts(aoi.to_crs(grid.crs).geometry):
        if part.is_empty:
            continue
        x0, y0, x1, y1 = part.bounds
        total += (int((x1 - x0) // span_x) + 2) * (int((y1 - y0) // span_y) + 2)
    return total


def clip_aoi(aoi: AOI, within: AOI) -> AOI:
    """The part of ``aoi`` inside ``within`` (computed in ``within``'s CRS); ``aoi`` itself when wholly inside."""
    mine = aoi.to_crs(within.crs).geometry
    if within.geometry.contains(mine):
        return aoi
    return AOI(mine.intersection(within.geometry), within.crs)


def _overlapping(grid: TileGrid, region: Any, cells: list[tuple[int, int]]) -> list[TileKey]:
    if not cells:
        return []
    bounds = np.array([grid.tile_bounds(c, r) for c, r in cells])
    boxes = shapely.box(bounds[:, 0], bounds[:, 1], bounds[:, 2], bounds[:, 3])
    keep = shapely.intersects(region, boxes) & ~shapely.touches(region, boxes)
    return [TileKey(grid.matrix_id, c, r) for (c, r), k in zip(cells, keep, strict=True) if k]


def covers(grid: TileGrid, aoi: AOI) -> bool:
    """Whether the AOI reaches into the grid's extent at all (a cheap test before selecting tiles)."""
    try:
        region = aoi.to_crs(grid.crs).geometry
    except InputError:
        return False
    left, bottom, right, top = grid.extent()
    return bool(region.intersects(shapely.box(left, bottom, right, top)))
