"""The Processing provider "geocolor": "Colorize raster", "Fill nodata holes (inpaint)" and "Harvest WMTS tiles" (Modeler and batch mode)."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .algorithms import ColorizeRasterAlgorithm, HarvestWmtsAlgorithm, InpaintRasterAlgorithm


class GeocolorProvider(QgsProcessingProvider):
    def id(self) -> str:
        return "geocolor"

    def name(self) -> str:
        return "geocolor"

    def icon(self) -> QIcon:
        return QIcon(str(Path(__file__).resolve().parent / "icon.svg"))

    def loadAlgorithms(self) -> None:  # noqa: N802  (QGIS's name)
        self.addAlgorithm(ColorizeRasterAlgorithm())
        self.addAlgorithm(InpaintRasterAlgorithm())
        self.addAlgorithm(HarvestWmtsAlgorithm())
