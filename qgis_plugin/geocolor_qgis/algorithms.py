"""Processing algorithms "Colorize raster" and "Harvest WMTS tiles": parameters -> engine call -> outputs.

Both run the engine chosen by ``engine.find_engine`` (in-process or a geocolor Python as a subprocess)
with Processing's feedback as progress and cancel; an engine error becomes a ``QgsProcessingException``.
"""

from __future__ import annotations

import os
from typing import Any

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputRasterLayer,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from . import settings
from .engine import ColorizeParams, EngineCancelled, EngineError, HarvestParams, run_colorize, run_harvest
from .layers import LayerExportError, readable_path


class _GeocolorAlgorithm(QgsProcessingAlgorithm):
    """Shared: the advanced "geocolor Python" parameter and running the engine with feedback."""

    PYTHON = "PYTHON"

    def group(self) -> str:
        return ""

    def groupId(self) -> str:  # noqa: N802
        return ""

    def createInstance(self) -> QgsProcessingAlgorithm:  # noqa: N802
        return type(self)()

    def _add_python_parameter(self) -> None:
        # a string, not a File parameter: QGIS 3.22 rejects files without an extension (bin/python)
        param = QgsProcessingParameterString(self.PYTHON, "geocolor Python (empty: auto-detect)", optional=True)
        param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(param)

    def _run(self, function: Any, params: Any, parameters: dict[str, Any], context: QgsProcessingContext,
             feedback: QgsProcessingFeedback) -> str:
        from .plugin import engine_from_settings

        python = self.parameterAsString(parameters, self.PYTHON, context).strip() or None
        try:
            engine = engine_from_settings(python)
            feedback.pushInfo(f"geocolor engine: {engine.describe()}")
            return str(function(engine, params, lambda f: feedback.setProgress(100.0 * f), feedback.isCanceled))
        except EngineCancelled:
            feedback.reportError("cancelled")
            return ""
        except EngineError as e:
            raise QgsProcessingException(str(e)) from None


class ColorizeRasterAlgorithm(_GeocolorAlgorithm):
    INPUT, MODEL, DEVICE, OUTPUT = "INPUT", "MODEL", "DEVICE", "OUTPUT"

    def name(self) -> str:
        return "colorize_raster"

    def displayName(self) -> str:  # noqa: N802
        return "Colorize raster"

    def shortHelpString(self) -> str:  # noqa: N802
        return ("Colorizes a gray raster (a historical aerial photo, panchromatic imagery) into a colour GeoTIFF with "
                "the same CRS, extent and nodata mask, using a geocolor model (default: the shipped one).")

    def initAlgorithm(self, config: Any = None) -> None:  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, "Gray raster"))
        self.addParameter(QgsProcessingParameterFile(self.MODEL, "Model file (empty: shipped default)", extension="pt",
                                                     optional=True))
        self.addParameter(QgsProcessingParameterEnum(self.DEVICE, "Device", options=list(settings.DEVICES), defaultValue=0))
        self._add_python_parameter()
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, "Colorized raster"))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,  # noqa: N802
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        layer = self.parameterAsRasterLayer(parameters, self.INPUT, context)
        if layer is None:
            raise QgsProcessingException("the input raster layer cannot be opened")
        try:
            src, temporary = readable_path(layer)
        except LayerExportError as e:
            raise QgsProcessingException(str(e)) from None
        dst = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        device = settings.DEVICES[self.parameterAsEnum(parameters, self.DEVICE, context)]
        params = ColorizeParams(src, dst, self.parameterAsFile(parameters, self.MODEL, context) or None, device, overwrite=True)
        try:
            return {self.OUTPUT: self._run(run_colorize, params, parameters, context, feedback) or None}
        finally:
            if temporary and os.path.exists(src):
                os.remove(src)


class HarvestWmtsAlgorithm(_GeocolorAlgorithm):
    URL, LAYER, EXTENT, ZOOM, TMS, OVERWRITE = "URL", "LAYER", "EXTENT", "ZOOM", "TMS", "OVERWRITE"
    OUTPUT_FOLDER, OUTPUT = "OUTPUT_FOLDER", "OUTPUT"

    def name(self) -> str:
        return "harvest_wmts"

    def displayName(self) -> str:  # noqa: N802
        return "Harvest WMTS tiles"

    def shortHelpString(self) -> str:  # noqa: N802
        return ("Fetches every tile of a WMTS layer that overlaps the extent, at one zoom (tile matrix), as "
                "georeferenced GeoTIFFs with a manifest and a VRT mosaic (the output layer). Re-running resumes.")

    def initAlgorithm(self, config: Any = None) -> None:  # noqa: N802
        self.addParameter(QgsProcessingParameterString(self.URL, "WMTS capabilities URL"))
        self.addParameter(QgsProcessingParameterString(self.LAYER, "Layer identifier"))
        self.addParameter(QgsProcessingParameterExtent(self.EXTENT, "Area (extent)"))
        self.addParameter(QgsProcessingParameterString(self.ZOOM, "Zoom (tile matrix identifier)"))
        self.addParameter(QgsProcessingParameterString(self.TMS, "Tile matrix set (empty: the layer's best)", optional=True))
        self.addParameter(QgsProcessingParameterBoolean(self.OVERWRITE, "Discard a previous harvest in the folder",
                                                        defaultValue=False))
        self._add_python_parameter()
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUTPUT_FOLDER, "Output folder"))
        self.addOutput(QgsProcessingOutputRasterLayer(self.OUTPUT, "Harvested mosaic (VRT)"))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,  # noqa: N802
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        extent = self.parameterAsExtent(parameters, self.EXTENT, context)
        crs = self.parameterAsExtentCrs(parameters, self.EXTENT, context)
        folder = self.parameterAsString(parameters, self.OUTPUT_FOLDER, context)
        params = HarvestParams(
            url=self.parameterAsString(parameters, self.URL, context).strip(),
            layer=self.parameterAsString(parameters, self.LAYER, context).strip(),
            bbox=(extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()),
            bbox_crs=crs.authid() or crs.toWkt(),
            zoom=self.parameterAsString(parameters, self.ZOOM, context).strip(),
            out=folder,
            tms=self.parameterAsString(parameters, self.TMS, context).strip() or None,
            overwrite=self.parameterAsBool(parameters, self.OVERWRITE, context),
        )
        result = self._run(run_harvest, params, parameters, context, feedback)
        return {self.OUTPUT_FOLDER: folder, self.OUTPUT: result if result.endswith(".vrt") else None}

