"""Raster layers as files the engine can read: a GeoTIFF-readable file path, or a temporary GeoTIFF export.

The engine reads files with GDAL. A layer from the ``gdal`` provider whose source is a plain file is used
as is; any other layer (memory, WMS/WMTS, virtual, a GDAL source with options) is first written to a
temporary GeoTIFF with ``QgsRasterFileWriter``, at the layer's own resolution, CRS and extent.
"""

from __future__ import annotations

import os
import tempfile

from qgis.core import QgsProject, QgsRasterFileWriter, QgsRasterLayer, QgsRasterPipe


class LayerExportError(Exception):
    """The layer could not be written to a GeoTIFF."""


def file_source(layer: QgsRasterLayer) -> str | None:
    """The layer's file path when GDAL can read it directly, else None."""
    if layer.providerType() != "gdal":
        return None
    path = layer.source().split("|", 1)[0]
    return path if os.path.isfile(path) else None


def export_geotiff(layer: QgsRasterLayer, folder: str | None = None) -> str:
    """Write ``layer`` (its raw data, full extent and resolution) to a new temporary GeoTIFF; return its path."""
    provider = layer.dataProvider()
    if provider is None or not layer.isValid():
        raise LayerExportError(f"layer {layer.name()!r} is not valid and cannot be exported")
    fd, path = tempfile.mkstemp(prefix="geocolor_", suffix=".tif", dir=folder)
    os.close(fd)
    pipe = QgsRasterPipe()
    if not pipe.set(provider.clone()):
        raise LayerExportError(f"cannot read layer {layer.name()!r} for export")
    writer = QgsRasterFileWriter(path)
    writer.setOutputFormat("GTiff")
    width, height = provider.xSize() or layer.width(), provider.ySize() or layer.height()
    if width < 1 or height < 1:
        raise LayerExportError(f"layer {layer.name()!r} has no pixel size (a web service?); save it as a GeoTIFF first")
    error = writer.writeRaster(pipe, width, height, provider.extent(), layer.crs(), QgsProject.instance().transformContext())
    if error != QgsRasterFileWriter.NoError:
        raise LayerExportError(f"exporting layer {layer.name()!r} to {path} failed (QgsRasterFileWriter error {int(error)})")
    return path


def readable_path(layer: QgsRasterLayer) -> tuple[str, bool]:
    """(path, is_temporary): the file to give the engine for ``layer``."""
    path = file_source(layer)
    return (path, False) if path else (export_geotiff(layer), True)
