"""Resolve what the user named (a WMTS layer, or an XYZ template) into a tile grid and tile URLs.

For WMTS this is where the tile matrix set is chosen: the one named by ``tms``, else, among the
layer's sets that have the asked-for zoom, the one whose extent the AOI reaches into, preferring a
set in the AOI's own CRS (no resampling of the AOI's native grid), then document order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyproj

from geocolor.aoi import AOI, aoi_from_bbox, crs_label
from geocolor.harvest import capabilities as caps
from geocolor.harvest.config import HarvestConfig
from geocolor.harvest.errors import CapabilitiesError
from geocolor.harvest.fetcher import Fetcher
from geocolor.harvest.grids import TileGrid, TileKey, TmsGrid, XyzGrid, build_tms, covers

log = logging.getLogger(__name__)

MAX_XYZ_ZOOM = 30


@dataclass(frozen=True)
class Source:
    """A resolved tile source: its grid at the chosen zoom, how to build a tile's URL, and a description."""

    kind: str
    grid: TileGrid
    url_for: Callable[[TileKey], str]
    description: dict[str, Any]
    coverage: AOI | None = None  # where the layer has data (its WGS84BoundingBox), when it says

    @property
    def crs(self) -> pyproj.CRS:
        return self.grid.crs

    @property
    def identity(self) -> dict[str, Any]:
        """What makes two harvests the same source (a re-run may reuse tiles only then)."""
        return {**self.description, "zoom": self.grid.matrix_id, "crs": crs_label(self.grid.crs)}


def resolve(config: HarvestConfig, fetcher: Fetcher) -> Source:
    """The :class:`Source` for ``config``: WMTS (capabilities read through ``fetcher``) or XYZ."""
    return resolve_xyz(config) if config.xyz is not None else resolve_wmts(config, fetcher)


def resolve_wmts(config: HarvestConfig, fetcher: Fetcher) -> Source:
    if config.url is None or config.layer is None:
        raise CapabilitiesError("a WMTS source needs a capabilities URL and a layer")
    wmts = caps.read_capabilities(config.url, fetcher)
    layer = caps.choose_layer(wmts, config.layer)
    style = caps.choose_style(layer, config.style)
    fmt = caps.choose_format(layer, config.format)
    grid = choose_grid(wmts, layer, config.aoi, config.zoom, config.tms)
    urls = caps.tile_urls(wmts, layer, style, fmt, grid.name, config.dimensions)
    log.info("layer %s, TMS %s (%s), zoom %s, %s, %s access", layer.id, grid.name, crs_label(grid.crs), grid.matrix_id, fmt, urls.kind)
    description = {
        "type": "wmts", "capabilities": config.url, "layer": layer.id, "style": style, "format": fmt,
        "tms": grid.name, "access": urls.kind, "tile_url": urls.template or urls.kvp_base,
    }
    return Source("wmts", grid, lambda key: urls.url(key.matrix, key.col, key.row), description, layer_coverage(layer))


def layer_coverage(layer: Any) -> AOI | None:
    """The layer's ``WGS84BoundingBox`` as an AOI (longitude first), None when it gives none."""
    bbox = getattr(layer, "boundingBoxWGS84", None)
    if not bbox or bbox[0] >= bbox[2] or bbox[1] >= bbox[3]:
        return None
    west, south, east, north = (max(-180.0, bbox[0]), max(-90.0, bbox[1]), min(180.0, bbox[2]), min(90.0, bbox[3]))
    return aoi_from_bbox((west, south, east, north), "OGC:CRS84")


def choose_grid(wmts: Any, layer: Any, aoi: AOI, zoom: str, tms_id: str | None) -> TmsGrid:
    """The layer's tile matrix set at ``zoom``: the one named, else the best one for the AOI."""
    ids = caps.layer_tms_ids(layer)
    if tms_id is not None:
        if tms_id not in ids:
            raise CapabilitiesError(f"unknown TMS {tms_id!r} for layer {layer.id!r}; valid: {', '.join(ids) or '(none)'}")
        ids = [tms_id]
    grids: list[TmsGrid] = []
    zooms: dict[str, str] = {}
    for ident in ids:
        defn = wmts.tilematrixsets.get(ident)
        if defn is None:
            log.warning("layer %s links TMS %s, which the document does not define", layer.id, ident)
            continue
        if zoom not in defn.tilematrix:
            zooms[ident] = caps.compact_ids(list(defn.tilematrix))
            continue
        tms, index, crs = build_tms(defn)
        grids.append(TmsGrid(ident, tms, index[zoom], zoom, crs, caps.layer_limits(layer, ident, zoom)))
    if not grids:
        valid = "; ".join(f"{k}: {v}" for k, v in zooms.items()) or "(none)"
        raise CapabilitiesError(f"zoom {zoom!r} is not a tile matrix of layer {layer.id!r}; valid zooms: {valid}")
    if len(grids) == 1:
        return grids[0]
    return max(grids, key=lambda g: (covers(g, aoi), g.crs == aoi.crs))


def resolve_xyz(config: HarvestConfig) -> Source:
    template = config.xyz or ""
    zoom = int(config.zoom)
    if not 0 <= zoom <= MAX_XYZ_ZOOM:
        raise CapabilitiesError(f"XYZ zoom {zoom} is out of range; valid: 0..{MAX_XYZ_ZOOM}")
    grid = XyzGrid(zoom, config.tile_size)

    def url_for(key: TileKey) -> str:
        flipped = 2**zoom - 1 - key.row
        return (template.replace("{z}", key.matrix).replace("{x}", str(key.col))
                .replace("{-y}", str(flipped)).replace("{y}", str(key.row)))

    return Source("xyz", grid, url_for, {"type": "xyz", "template": template, "tile_size": config.tile_size})
