"""The two summaries of a harvest folder: ``manifest.json`` (for programs) and ``tiles.vrt`` (for GIS).

The manifest lists every tile the AOI asked for, whatever became of it (status, bounds, source URL,
path and SHA-256 of the GeoTIFF), with the grid's CRS and the source. It holds no timestamps, so two
harvests of the same thing give the same manifest.

The VRT places each ``ok`` tile at its pixel offset in one raster on the tile matrix's own grid (so
no resampling happens); four bands R, G, B and alpha. Tiles that are blank, missing or failed are
simply absent: transparent in the mosaic.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from typing import Any

from geocolor import __version__
from geocolor.aoi import AOI, Bounds, crs_label
from geocolor.harvest.sources import Source
from geocolor.harvest.store import TileRecord
from geocolor.harvest.tiles import TileStatus

MANIFEST_FORMAT = "geocolor-harvest-manifest"
_BANDS = ("Red", "Green", "Blue", "Alpha")


def build_manifest(source: Source, aoi: AOI, records: list[TileRecord], vrt_name: str | None) -> dict[str, Any]:
    """The manifest of a harvest as a JSON-ready dict (``records`` in any order)."""
    counts = Counter(r.status.value for r in records)
    grid = source.grid
    return {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "generator": f"geocolor {__version__}",
        "source": source.description,
        "tms": grid.name,
        "zoom": grid.matrix_id,
        "crs": crs_label(grid.crs),
        "crs_wkt": grid.crs.to_wkt(),
        "tile_size": [grid.tile_width, grid.tile_height],
        "aoi": {"crs": crs_label(aoi.crs), "bounds": list(aoi.bounds)},
        "counts": {"total": len(records), **{s.value: counts.get(s.value, 0) for s in TileStatus}},
        "vrt": vrt_name,
        "tiles": [r.to_json() for r in sorted(records, key=lambda r: (r.key.row, r.key.col))],
    }


def build_vrt(records: list[TileRecord], crs_wkt: str, north_first: bool, tile_size: tuple[int, int]) -> str | None:
    """VRT XML mosaicking the ``ok`` tiles (paths relative to the VRT); None when there is none."""
    tiles = sorted((r for r in records if r.status is TileStatus.OK and r.path), key=lambda r: (r.key.row, r.key.col))
    if not tiles:
        return None
    width, height = tile_size
    ref = tiles[0].bounds
    res_x, res_y = (ref[2] - ref[0]) / width, (ref[3] - ref[1]) / height
    left, top = min(r.bounds[0] for r in tiles), max(r.bounds[3] for r in tiles)
    rects = [_dst_rect(r.bounds, left, top, res_x, res_y) for r in tiles]
    total_w = max(x + w for x, _, w, _ in rects)
    total_h = max(y + h for _, y, _, h in rects)
    root = ET.Element("VRTDataset", rasterXSize=str(total_w), rasterYSize=str(total_h))
    srs = ET.SubElement(root, "SRS", dataAxisToSRSAxisMapping="2,1" if north_first else "1,2")
    srs.text = crs_wkt
    ET.SubElement(root, "GeoTransform").text = ", ".join(repr(v) for v in (left, res_x, 0.0, top, 0.0, -res_y))
    for band, interp in enumerate(_BANDS, start=1):
        elem = ET.SubElement(root, "VRTRasterBand", dataType="Byte", band=str(band))
        ET.SubElement(elem, "ColorInterp").text = interp
        for rec, rect in zip(tiles, rects, strict=True):
            _add_source(elem, rec.path or "", band, (width, height), rect)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def _dst_rect(bounds: Bounds, left: float, top: float, res_x: float, res_y: float) -> tuple[int, int, int, int]:
    x = round((bounds[0] - left) / res_x)
    y = round((top - bounds[3]) / res_y)
    return x, y, round((bounds[2] - bounds[0]) / res_x), round((bounds[3] - bounds[1]) / res_y)


def _add_source(band_elem: ET.Element, path: str, band: int, size: tuple[int, int], rect: tuple[int, int, int, int]) -> None:
    src = ET.SubElement(band_elem, "SimpleSource")
    ET.SubElement(src, "SourceFilename", relativeToVRT="1").text = path
    ET.SubElement(src, "SourceBand").text = str(band)
    w, h = size
    ET.SubElement(src, "SourceProperties", RasterXSize=str(w), RasterYSize=str(h), DataType="Byte")
    ET.SubElement(src, "SrcRect", xOff="0", yOff="0", xSize=str(w), ySize=str(h))
    x, y, dw, dh = rect
    ET.SubElement(src, "DstRect", xOff=str(x), yOff=str(y), xSize=str(dw), ySize=str(dh))
