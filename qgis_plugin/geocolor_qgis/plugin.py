"""The plugin object QGIS holds: the "Colorize layer" action (toolbar + Raster menu) and the Processing provider.

Flow: the action reads the active layer, the dialog (or, with ``GEOCOLOR_QGIS_NO_DIALOG=1``,
the remembered defaults) gives a ``ColorizeParams``, a ``ColorizeTask`` runs it in QGIS's task manager,
and ``_task_finished`` (main thread) adds the colour layer above the input or shows a message-bar line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from qgis.core import Qgis, QgsApplication, QgsMapLayer, QgsProject, QgsRasterLayer
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction, QDialog

from . import settings
from .engine import ColorizeParams, EngineError, default_output
from .layers import LayerExportError, readable_path
from .task import ColorizeTask

PLUGIN_DIR = Path(__file__).resolve().parent
MENU = "&geocolor"
ACTION_TEXT = "Colorize layer"
TITLE = "geocolor"


class GeocolorPlugin:
    """Created by ``classFactory``; QGIS calls ``initGui``, ``initProcessing`` and ``unload``."""

    def __init__(self, iface: Any) -> None:
        self.iface = iface
        self.action: QAction | None = None
        self.provider: Any = None
        self.tasks: list[ColorizeTask] = []  # keep references until finished
        self.last_task: ColorizeTask | None = None

    def initProcessing(self) -> None:  # noqa: N802  (QGIS's name)
        from .provider import GeocolorProvider

        if self.provider is not None:  # QGIS may call this as well as initGui
            return
        self.provider = GeocolorProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:  # noqa: N802  (QGIS's name)
        self.initProcessing()
        self.action = QAction(QIcon(str(PLUGIN_DIR / "icon.svg")), ACTION_TEXT, self.iface.mainWindow())
        self.action.setObjectName("geocolorColorizeLayer")
        self.action.setToolTip("Colorize the selected gray raster layer with geocolor")
        self.action.triggered.connect(self.run)
        self.iface.addToolBarIcon(self.action)
        self.iface.addPluginToRasterMenu(MENU, self.action)

    def unload(self) -> None:
        if self.action is not None:
            self.iface.removeToolBarIcon(self.action)
            self.iface.removePluginRasterMenu(MENU, self.action)
            self.action = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None

    # -- running --------------------------------------------------------------------------------------
    def run(self) -> None:
        """The action: active raster layer -> parameters -> task."""
        layer = self.iface.activeLayer()
        if not isinstance(layer, QgsRasterLayer) or layer.type() != QgsMapLayer.RasterLayer:
            self._message("select a gray raster layer in the Layers panel first", Qgis.Warning)
            return
        try:
            src, temporary = readable_path(layer)
        except LayerExportError as e:
            self._message(str(e), Qgis.Critical)
            return
        safe_name = re.sub(r"[^\w.-]+", "_", layer.name()).strip("._") or "layer"
        dst = default_output(os.path.join(os.path.dirname(src), safe_name) if temporary else src)
        if os.environ.get("GEOCOLOR_QGIS_NO_DIALOG") == "1":
            params = ColorizeParams(src, dst, settings.get("model") or None, settings.device())
            python = None
        else:
            from .dialog import ColorizeDialog

            dialog = ColorizeDialog(layer.name(), src, dst, self.iface.mainWindow())
            if dialog.exec_() != QDialog.Accepted:
                if temporary:
                    os.remove(src)
                return
            choice = dialog.choice()
            params, python = choice.params, choice.python
        self.start(params, layer.id(), python, temporary_input=temporary)

    def start(self, params: ColorizeParams, input_layer_id: str = "", python: str | None = None,
              temporary_input: bool = False) -> ColorizeTask | None:
        """Start a colorize task for ``params`` (the action and tests come through here)."""
        try:
            engine = settings.engine_from_settings(python)
        except EngineError as e:
            self._message(str(e), Qgis.Critical)
            return None
        task = ColorizeTask(engine, params, self._task_finished, f"geocolor: colorize {Path(params.src).name}")
        task.setProperty("input_layer_id", input_layer_id)
        task.setProperty("temporary_input", params.src if temporary_input else "")
        self.tasks.append(task)
        self.last_task = task
        QgsApplication.taskManager().addTask(task)
        return task

    def _task_finished(self, task: ColorizeTask) -> None:
        if task in self.tasks:
            self.tasks.remove(task)
        temporary = str(task.property("temporary_input") or "")
        if temporary and os.path.exists(temporary):
            os.remove(temporary)
        if task.cancelled:
            self._message("colorize cancelled", Qgis.Info)
        elif task.error or not task.output:
            self._message(task.error or "the engine returned no output", Qgis.Critical)
        else:
            self._add_result(task.output, str(task.property("input_layer_id") or ""))

    def _add_result(self, path: str, input_layer_id: str) -> None:
        layer = QgsRasterLayer(path, Path(path).stem, "gdal")
        if not layer.isValid():
            self._message(f"the colorized file {path} cannot be opened", Qgis.Critical)
            return
        project = QgsProject.instance()
        project.addMapLayer(layer, False)
        root = project.layerTreeRoot()
        node = root.findLayer(input_layer_id) if input_layer_id else None
        parent = node.parent() if node is not None else root
        index = parent.children().index(node) if node is not None else 0
        parent.insertLayer(index, layer)
        self._message(f"colorized layer added: {path}", Qgis.Success)

    def _message(self, text: str, level: Any) -> None:
        self.iface.messageBar().pushMessage(TITLE, text, level=level, duration=0 if level == Qgis.Critical else 8)
