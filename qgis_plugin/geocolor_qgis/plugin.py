"""The plugin object QGIS holds: the "Colorize layer" action (toolbar + Raster menu), the "Install the geocolor
engine" action (Raster menu) and the Processing provider.

Flow: the action reads the active layer, the dialog (or, with ``GEOCOLOR_QGIS_NO_DIALOG=1``,
the remembered defaults) gives a ``ColorizeParams``, a ``ColorizeTask`` runs it in QGIS's task manager,
and ``_task_finished`` (main thread) adds the colour layer above the input, shows the input with the
engine's contrast (``contrast``), or shows a message-bar line. When no engine is found the message bar
offers "Install the geocolor engine", which runs an ``InstallEngineTask`` (``installer``) into the profile.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from qgis.core import Qgis, QgsApplication, QgsMapLayer, QgsProject, QgsRasterLayer
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction, QDialog, QPushButton

from . import settings
from .contrast import show_like_engine
from .engine import INSTALL_ACTION, ColorizeParams, EngineError, EngineNotFound, default_output
from .install_task import InstallEngineTask
from .installer import VENV_DIR, InstallError, base_python_candidates, choose_base_python, pip_arguments
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
        self.install_action: QAction | None = None
        self.install_task: InstallEngineTask | None = None
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
        self.install_action = QAction(INSTALL_ACTION, self.iface.mainWindow())
        self.install_action.setObjectName("geocolorInstallEngine")
        self.install_action.setToolTip("Create geocolor's own Python environment in the QGIS profile and install the engine into it")
        self.install_action.triggered.connect(self.install_engine)
        self.iface.addPluginToRasterMenu(MENU, self.install_action)

    def unload(self) -> None:
        if self.action is not None:
            self.iface.removeToolBarIcon(self.action)
            self.iface.removePluginRasterMenu(MENU, self.action)
            self.action = None
        if self.install_action is not None:
            self.iface.removePluginRasterMenu(MENU, self.install_action)
            self.install_action = None
        if self.install_task is not None:  # its environment is removed; nothing half-made stays
            self.install_task.cancel()
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
            if temporary_input and os.path.exists(params.src):
                os.remove(params.src)
            if isinstance(e, EngineNotFound):
                self._offer_install(str(e))
            else:
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
            self._add_result(task.output, str(task.property("input_layer_id") or ""), task.info)

    def _add_result(self, path: str, input_layer_id: str, info: dict[str, Any] | None = None) -> None:
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
        self._message(f"colorized layer added: {path}{self._match_contrast(project.mapLayer(input_layer_id), info or {})}",
                      Qgis.Success)

    @staticmethod
    def _match_contrast(layer: Any, info: dict[str, Any]) -> str:
        """Show the input layer with the engine's stretch (``contrast``); the note for the message, or ''."""
        stretch = info.get("stretch")
        if not (isinstance(layer, QgsRasterLayer) and isinstance(stretch, list) and len(stretch) == 2):
            return ""
        low, high = (float(v) for v in stretch)
        return f"; input shown with the engine's contrast ({low:g} to {high:g})" if show_like_engine(layer, low, high) else ""

    # -- the engine ---------------------------------------------------------------------------------------
    def _offer_install(self, text: str) -> None:
        """The message bar line for "no engine", with a button that starts the install."""
        bar = self.iface.messageBar()
        item = bar.createMessage(TITLE, text)
        button = QPushButton(INSTALL_ACTION, item)

        def clicked() -> None:
            bar.popWidget(item)
            self.install_engine()

        button.clicked.connect(clicked)
        item.layout().addWidget(button)
        bar.pushWidget(item, Qgis.Warning)

    def install_engine(self) -> InstallEngineTask | None:
        """Install the engine into the QGIS profile in a task (the action, the message-bar button and tests come here)."""
        if self.install_task is not None:
            self._message("the geocolor engine is being installed already; see the task manager", Qgis.Info)
            return None
        home = settings.engine_home()
        try:
            base = choose_base_python(base_python_candidates(settings.base_python()))
        except InstallError as e:
            self._message(f"cannot install the geocolor engine: {e}", Qgis.Critical)
            return None
        task = InstallEngineTask(home, pip_arguments(settings.engine_source()), base, self._install_finished)
        self.install_task = task
        QgsApplication.taskManager().addTask(task)
        self._message(f"installing the geocolor engine into {home / VENV_DIR} with {base.path}; this takes a few minutes "
                      "(progress and cancel in the task manager)", Qgis.Info)
        return task

    def _install_finished(self, task: InstallEngineTask) -> None:
        self.install_task = None
        if task.cancelled:
            self._message("geocolor engine install cancelled; nothing was kept", Qgis.Info)
        elif task.error or not task.python:
            self._message(task.error or "the engine install ended without an engine", Qgis.Critical)
        else:
            self._message(f"geocolor engine installed ({task.python}); {ACTION_TEXT} is ready", Qgis.Success)

    def _message(self, text: str, level: Any) -> None:
        self.iface.messageBar().pushMessage(TITLE, text, level=level, duration=0 if level == Qgis.Critical else 8)
