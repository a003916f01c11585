"""Processing algorithms "Colorize raster", "Fill nodata holes (inpaint)" and "Harvest WMTS tiles": parameters -> engine call -> outputs.

Each runs the engine chosen by ``discovery.find_engine`` (in-process or a geocolor Python as a subprocess)
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
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from . import settings
from .engine import (
    ColorizeParams,
    EngineCancelled,
    EngineError,
    HarvestParams,
    InpaintParams,
    run_colorize,
    run_harvest,
    run_inpaint,
)
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
        self._add_advanced(QgsProcessingParameterString(self.PYTHON, "geocolor Python (empty: auto-detect)", optional=True))

    def _add_advanced(self, param: QgsProcessingParameterDefinition) -> None:
        param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(param)

    def _input_file(self, parameters: dict[str, Any], name: str, context: QgsProcessingContext,
                    temporaries: list[str]) -> str | None:
        """The file of raster-layer parameter ``name`` (None when an optional one is empty); exports go to ``temporaries``."""
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None:
            if parameters.get(name) in (None, ""):
                return None
            raise QgsProcessingException(f"the raster layer {parameters.get(name)!r} cannot be opened")
        try:
            path, temporary = readable_path(layer)
        except LayerExportError as e:
            raise QgsProcessingException(str(e)) from None
        if temporary:
            temporaries.append(path)
        return path

    def _run(self, function: Any, params: Any, parameters: dict[str, Any], context: QgsProcessingContext,
             feedback: QgsProcessingFeedback) -> str:
        python = self.parameterAsString(parameters, self.PYTHON, context).strip() or None
        try:
            engine = settings.engine_from_settings(python)
            feedback.pushInfo(f"geocolor engine: {engine.describe()}")
            return str(function(engine, params, lambda f: feedback.setProgress(100.0 * f), feedback.isCanceled))
        except EngineCancelled:
            feedback.reportError("cancelled")
            return ""
        except EngineError as e:
            raise QgsProcessingException(str(e)) from None


class _RasterAlgorithm(_GeocolorAlgorithm):
    """Shared by the raster-in, raster-out algorithms: INPUT layer, MODEL file, DEVICE, OUTPUT destination."""

    INPUT, MODEL, DEVICE, OUTPUT = "INPUT", "MODEL", "DEVICE", "OUTPUT"

    def _add_model_and_device(self, model_label: str) -> None:
        self.addParameter(QgsProcessingParameterFile(self.MODEL, model_label, extension="pt", optional=True))
        self.addParameter(QgsProcessingParameterEnum(self.DEVICE, "Device", options=list(settings.DEVICES), defaultValue=0))

    def _run_raster(self, function: Any, make_params: Any, parameters: dict[str, Any], context: QgsProcessingContext,
                    feedback: QgsProcessingFeedback) -> dict[str, Any]:
        """``function(engine, make_params(src, dst, model, device, temporaries))``; layer exports are removed after."""
        temporaries: list[str] = []
        try:
            src = self._input_file(parameters, self.INPUT, context, temporaries)
            if src is None:
                raise QgsProcessingException("the input raster layer cannot be opened")
            params = make_params(src, self.parameterAsOutputLayer(parameters, self.OUTPUT, context),
                                 self.parameterAsFile(parameters, self.MODEL, context) or None,
                                 settings.DEVICES[self.parameterAsEnum(parameters, self.DEVICE, context)], temporaries)
            return {self.OUTPUT: self._run(function, params, parameters, context, feedback) or None}
        finally:
            for path in temporaries:
                if os.path.exists(path):
                    os.remove(path)


class ColorizeRasterAlgorithm(_RasterAlgorithm):
    FILL_NODATA, STYLE, DODGE = "FILL_NODATA", "STYLE", "DODGE"

    def name(self) -> str:
        return "colorize_raster"

    def displayName(self) -> str:  # noqa: N802
        return "Colorize raster"

    def shortHelpString(self) -> str:  # noqa: N802
        return ("Colorizes a gray raster (a historical aerial photo, panchromatic imagery) into a colour GeoTIFF with "
                "the same CRS, extent and nodata mask, using a geocolor model (default: the shipped one). Advanced: "
                "fill the input's nodata holes first (geocolor inpaint), and one palette for many sheets from a "
                "colour reference raster or a named style of the model.")

    def initAlgorithm(self, config: Any = None) -> None:  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, "Gray raster"))
        self._add_model_and_device("Model file (empty: shipped default)")
        self._add_advanced(QgsProcessingParameterBoolean(self.FILL_NODATA, "Fill nodata holes first", defaultValue=False,
                                                         optional=True))
        # a string: a reference raster's path or a style name (a File parameter would refuse names)
        self._add_advanced(QgsProcessingParameterString(self.STYLE, "Style reference raster or style name", optional=True))
        self._add_advanced(QgsProcessingParameterNumber(
            self.DODGE, "Even out vignetting over this radius in pixels (0: off)", QgsProcessingParameterNumber.Double,
            defaultValue=0.0, optional=True, minValue=0.0))
        self._add_python_parameter()
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, "Colorized raster"))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,  # noqa: N802
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        fill = self.parameterAsBool(parameters, self.FILL_NODATA, context)
        style = self.parameterAsString(parameters, self.STYLE, context).strip() or None
        dodge = self.parameterAsDouble(parameters, self.DODGE, context) or 0.0
        return self._run_raster(run_colorize, lambda src, dst, model, device, _: ColorizeParams(
            src, dst, model, device, overwrite=True, fill_nodata=fill, style=style, dodge=dodge), parameters, context, feedback)


class InpaintRasterAlgorithm(_RasterAlgorithm):
    MASK, METHOD = "MASK", "METHOD"
    METHODS = ("auto", "network", "biharmonic")

    def name(self) -> str:
        return "inpaint_raster"

    def displayName(self) -> str:  # noqa: N802
        return "Fill nodata holes (inpaint)"

    def shortHelpString(self) -> str:  # noqa: N802
        return ("Fills the holes of a raster (its nodata / alpha pixels, or the non-zero pixels of a mask raster of the "
                "same size) with a geocolor inpainting model (default: the shipped one). Only hole pixels change; the "
                "output keeps the bands, data type, nodata value, CRS and transform. Holes wider than a quarter of "
                "the model's tile (a missing frame, a broad collar) are left as they are. Method auto (advanced) "
                "checks, hole by hole, whether the network or biharmonic interpolation rebuilds the pixels around "
                "the hole better, and uses that one.")

    def initAlgorithm(self, config: Any = None) -> None:  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer(self.INPUT, "Raster with holes"))
        self.addParameter(QgsProcessingParameterRasterLayer(self.MASK, "Mask raster (non-zero = fill; empty: the input's nodata)",
                                                            optional=True))
        self._add_model_and_device("Inpainting model file (empty: shipped default)")
        self._add_advanced(QgsProcessingParameterEnum(self.METHOD, "Fill method", options=list(self.METHODS), defaultValue=0))
        self._add_python_parameter()
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, "Filled raster"))

    def processAlgorithm(self, parameters: dict[str, Any], context: QgsProcessingContext,  # noqa: N802
                         feedback: QgsProcessingFeedback) -> dict[str, Any]:
        def make(src: str, dst: str, model: str | None, device: str, temporaries: list[str]) -> InpaintParams:
            mask = self._input_file(parameters, self.MASK, context, temporaries)
            method = self.METHODS[self.parameterAsEnum(parameters, self.METHOD, context)]
            return InpaintParams(src, dst, mask, model, device, overwrite=True, method=method)

        return self._run_raster(run_inpaint, make, parameters, context, feedback)


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

