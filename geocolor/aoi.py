"""Areas of interest: a polygon plus the CRS it is expressed in.

An :class:`AOI` is what every stage that works "inside an area" takes. It comes either from a bounding
box typed by the user (in any CRS) or from any OGR-readable vector file (shapefile with its ``.prj``,
GeoPackage, GeoJSON, ...), whose polygonal features are unioned into one (multi)polygon.

Reprojection densifies edges first: a straight edge in one CRS is a curve in another, and an AOI
reprojected by its vertices alone would cut corners (or miss tiles) along long edges.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from geocolor.errors import InputError

log = logging.getLogger(__name__)

Bounds = tuple[float, float, float, float]

# Edges are split into this many pieces (at least) before a reprojection.
DENSIFY_SEGMENTS = 64


def parse_crs(value: str | int | pyproj.CRS) -> pyproj.CRS:
    """A pyproj CRS from ``EPSG:4326``, ``4326``, a WKT/PROJ string, an OGC URN/URL or a CRS object."""
    if isinstance(value, pyproj.CRS):
        return value
    text = str(value).strip()
    try:
        return pyproj.CRS.from_user_input(int(text) if text.isdigit() else text)
    except pyproj.exceptions.CRSError as e:
        raise InputError(f"unknown CRS {text!r}; give e.g. EPSG:4326 or a WKT string") from e


def crs_label(crs: pyproj.CRS) -> str:
    """A short human label: ``EPSG:3857`` when the CRS has an authority code, else its name."""
    auth = crs.to_authority(min_confidence=90)
    return f"{auth[0]}:{auth[1]}" if auth else crs.name


@dataclass(frozen=True)
class AOI:
    """An area of interest: a polygonal shapely geometry and the CRS its coordinates are in."""

    geometry: BaseGeometry
    crs: pyproj.CRS

    @property
    def bounds(self) -> Bounds:
        """(minx, miny, maxx, maxy) in :attr:`crs`, always in x/easting-first order."""
        minx, miny, maxx, maxy = self.geometry.bounds
        return (minx, miny, maxx, maxy)

    def to_crs(self, crs: pyproj.CRS | str) -> AOI:
        """This AOI reprojected (with densified edges) into ``crs``; itself when the CRS is the same."""
        dst = parse_crs(crs)
        if dst == self.crs:
            return self
        return AOI(reproject_geometry(self.geometry, self.crs, dst), dst)


def reproject_geometry(geom: BaseGeometry, src: pyproj.CRS, dst: pyproj.CRS) -> BaseGeometry:
    """Reproject ``geom`` from ``src`` to ``dst`` (x/y order on both sides), densifying its edges first."""
    minx, miny, maxx, maxy = geom.bounds
    span = max(maxx - minx, maxy - miny)
    if span > 0:
        geom = shapely.segmentize(geom, span / DENSIFY_SEGMENTS)
    transformer = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    out = shapely.transform(geom, lambda xy: _transform_xy(transformer, xy))
    if not out.is_valid:
        out = shapely.make_valid(out)
    return out


def _transform_xy(transformer: pyproj.Transformer, xy: object) -> object:
    import numpy as np

    arr = np.asarray(xy, dtype="float64")
    x, y = transformer.transform(arr[:, 0], arr[:, 1])
    out = np.column_stack([x, y])
    if not np.all(np.isfinite(out)):
        raise InputError("the AOI cannot be reprojected into the tile grid's CRS (it lies outside that CRS's area of use)")
    return out


def parse_bbox(text: str | Sequence[float], allow_wrap: bool = False) -> Bounds:
    """``"minx,miny,maxx,maxy"`` (or a sequence of four numbers) as a checked tuple of floats.

    ``allow_wrap``: MINX > MAXX is accepted (a longitude range across the antimeridian).
    """
    parts = text.replace(" ", "").split(",") if isinstance(text, str) else list(text)
    try:
        values = [float(p) for p in parts]
    except (TypeError, ValueError) as e:
        raise InputError(f"bbox {text!r} is not four numbers MINX,MINY,MAXX,MAXY") from e
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InputError(f"bbox {text!r} is not four finite numbers MINX,MINY,MAXX,MAXY")
    minx, miny, maxx, maxy = values
    if (minx >= maxx and not (allow_wrap and minx > maxx)) or miny >= maxy:
        raise InputError(f"bbox {text!r} is empty: MINX must be < MAXX and MINY < MAXY (x/longitude first)")
    return (minx, miny, maxx, maxy)


def aoi_from_bbox(bbox: str | Sequence[float], crs: str | pyproj.CRS = "EPSG:4326") -> AOI:
    """An AOI from a bounding box given in ``crs`` (x/longitude first, whatever the CRS's axis order).

    In a geographic CRS longitudes must lie in -180..180 and latitudes in -90..90 (nothing is wrapped
    silently), and MINX > MAXX means a box across the antimeridian: two boxes, one each side of it.
    """
    crs = parse_crs(crs)
    minx, miny, maxx, maxy = parse_bbox(bbox, allow_wrap=crs.is_geographic)
    if not crs.is_geographic:
        return AOI(shapely.box(minx, miny, maxx, maxy), crs)
    if max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90:
        raise InputError(
            f"bbox {bbox!r} is outside the globe in {crs_label(crs)}: longitudes must be within -180..180 and "
            "latitudes within -90..90 (across the antimeridian give MINX > MAXX, e.g. 179.9,-17,-179.9,-16)"
        )
    if minx > maxx:
        return AOI(shapely.MultiPolygon([shapely.box(minx, miny, 180.0, maxy), shapely.box(-180.0, miny, maxx, maxy)]), crs)
    return AOI(shapely.box(minx, miny, maxx, maxy), crs)


def aoi_from_file(path: str | os.PathLike[str], layer: str | int | None = None) -> AOI:
    """An AOI from the polygons of a vector file (shapefile, GeoPackage, GeoJSON, ... any OGR format).

    All polygonal features of the layer are unioned; points and lines are ignored. The file's own CRS
    (a shapefile's ``.prj``) is used; a file without one is refused rather than guessed.
    """
    import pyogrio.raw
    from pyogrio.errors import DataLayerError, DataSourceError

    if not os.path.exists(path):
        raise InputError(f"AOI file not found: {os.fspath(path)}")
    try:
        meta, _, wkb, _ = pyogrio.raw.read(path, layer=layer, columns=[], force_2d=True)
    except (DataSourceError, DataLayerError) as e:
        raise InputError(f"cannot read AOI file {os.fspath(path)}: {e}") from e
    if not meta.get("crs"):
        raise InputError(f"AOI file {os.fspath(path)} has no CRS (a shapefile needs its .prj); add one or use --bbox")
    geoms = [g for g in shapely.from_wkb([w for w in (wkb if wkb is not None else []) if w is not None])]
    polys = [g for g in geoms if g is not None and not g.is_empty and g.geom_type in ("Polygon", "MultiPolygon")]
    if not polys:
        raise InputError(f"AOI file {os.fspath(path)} holds no polygon; give a polygon layer or use --bbox")
    merged = shapely.union_all([g if g.is_valid else shapely.make_valid(g) for g in polys])
    log.debug("AOI from %s: %d polygon feature(s), CRS %s", path, len(polys), meta["crs"])
    return AOI(merged, parse_crs(meta["crs"]))
