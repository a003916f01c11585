"""Drive the geocolor plugin in a real headless QGIS (run by ``/usr/bin/python3``, see test_plugin_in_qgis.py).

Argument: a JSON object {"plugins", "python", "tmp", "input"}. Loads the plugin from ``plugins`` (the
unpacked plugin zip) with QGIS's own loader (``qgis.utils.startPlugin``: metadata, ``classFactory``,
``initGui``) and an iface stand-in, triggers the real "Colorize layer" QAction on a GeoTIFF layer (subprocess engine:
the geocolor venv's Python), waits for the QgsTask, checks the new layer, runs an engine error through
the message bar, colorizes a non-file (``/vsimem``) layer through the export path, runs "geocolor:colorize_raster" via ``processing.run``, saves a canvas screenshot, and
prints one line ``RESULT <json>`` for the outer test to assert on.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from qgis.core import Qgis, QgsApplication, QgsProject, QgsRasterLayer
from qgis.gui import QgsMapCanvas, QgsMessageBar
from qgis.PyQt.QtCore import QSettings, QSize
from qgis.PyQt.QtGui import QImage
from qgis.PyQt.QtWidgets import QMainWindow, QMenu
from qgis_app import APP, CONFIG, TMP  # the config, sys.path and a started QgsApplication


class RecordingMessageBar(QgsMessageBar):
    """A real message bar that also keeps (level, text) of every message, for the test to read."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[int, str]] = []
        self.widgets: list[Any] = []  # items pushed with pushWidget (a message with buttons)

    def pushMessage(self, title: str, text: str, level: Any = Qgis.Info, duration: int = -1) -> None:  # noqa: N802
        self.messages.append((int(level), text))
        super().pushMessage(title, text, level, duration)

    def pushWidget(self, widget: Any, level: Any = Qgis.Info, duration: int = 0) -> Any:  # noqa: N802
        self.messages.append((int(level), widget.text() if hasattr(widget, "text") else ""))
        self.widgets.append(widget)
        return super().pushWidget(widget, level, duration)


class Iface:
    """The part of QgisInterface the plugin uses, backed by real Qt/QGIS widgets."""

    def __init__(self) -> None:
        self.window = QMainWindow()
        self.toolbar = self.window.addToolBar("Plugins")
        self.raster_menu = QMenu("Raster")
        self.menus: dict[str, QMenu] = {}
        self.bar = RecordingMessageBar()
        self.canvas = QgsMapCanvas()
        self.window.setCentralWidget(self.canvas)
        self.window.resize(QSize(800, 800))
        self.layer: QgsRasterLayer | None = None

    def mainWindow(self) -> QMainWindow:  # noqa: N802
        return self.window

    def addToolBarIcon(self, action: Any) -> None:  # noqa: N802
        self.toolbar.addAction(action)

    def removeToolBarIcon(self, action: Any) -> None:  # noqa: N802
        self.toolbar.removeAction(action)

    def addPluginToRasterMenu(self, name: str, action: Any) -> None:  # noqa: N802
        self.menus.setdefault(name, self.raster_menu.addMenu(name)).addAction(action)

    def removePluginRasterMenu(self, name: str, action: Any) -> None:  # noqa: N802
        if name in self.menus:
            self.menus[name].removeAction(action)

    def messageBar(self) -> RecordingMessageBar:  # noqa: N802
        return self.bar

    def activeLayer(self) -> QgsRasterLayer | None:  # noqa: N802
        return self.layer

    def mapCanvas(self) -> QgsMapCanvas:  # noqa: N802
        return self.canvas


def wait_for(done: Any, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        APP.processEvents()
        if done():
            return True
        time.sleep(0.05)
    return False


def wait_for_tasks(plugin: Any, timeout: float = 150) -> bool:
    return wait_for(lambda: not plugin.tasks and QgsApplication.taskManager().countActiveTasks() == 0, timeout)


def layer_facts(layer: QgsRasterLayer) -> dict[str, Any]:
    e = layer.extent()
    return {"valid": layer.isValid(), "crs": layer.crs().authid(), "bands": layer.bandCount(), "name": layer.name(),
            "extent": [e.xMinimum(), e.yMinimum(), e.xMaximum(), e.yMaximum()], "size": [layer.width(), layer.height()]}


def colourful_fraction(png: Path) -> float:
    image = QImage(str(png))
    if image.isNull():
        return 0.0
    n = colourful = 0
    for y in range(0, image.height(), 7):
        for x in range(0, image.width(), 7):
            c = image.pixelColor(x, y)
            n += 1
            colourful += max(c.red(), c.green(), c.blue()) - min(c.red(), c.green(), c.blue()) > 12
    return colourful / max(n, 1)


def screenshot(iface: Iface, layers: list[QgsRasterLayer], png: Path) -> float:
    canvas = iface.mapCanvas()
    canvas.setDestinationCrs(layers[0].crs())
    canvas.setLayers(layers)
    canvas.setExtent(layers[0].extent())
    iface.window.show()
    wait_for(lambda: canvas.width() >= 600, 5)
    refreshed: list[bool] = []
    canvas.mapCanvasRefreshed.connect(lambda: refreshed.append(True))
    canvas.refresh()
    wait_for(lambda: bool(refreshed), 30)
    canvas.saveAsImage(str(png))
    return colourful_fraction(png)


def colorize_memory_layer(plugin: Any, iface: Iface, gray: QgsRasterLayer) -> dict[str, Any]:
    """Trigger the action on a layer that is not a file (GDAL ``/vsimem``): it must be exported, then cleaned up."""
    from osgeo import gdal

    gdal.Translate("/vsimem/geocolor_test_gray.tif", CONFIG["input"])
    layer = QgsRasterLayer("/vsimem/geocolor_test_gray.tif", "in memory", "gdal")
    QgsProject.instance().addMapLayer(layer)
    iface.layer = layer
    before = set(QgsProject.instance().mapLayers())
    [a for a in iface.toolbar.actions() if a.text() == "Colorize layer"][0].trigger()
    finished = wait_for_tasks(plugin)
    new = [QgsProject.instance().mapLayer(i) for i in set(QgsProject.instance().mapLayers()) - before]
    leftovers = sorted(p.name for p in Path(TMP).glob("geocolor_*.tif"))
    return {"finished": finished, "new_layers": [layer_facts(lyr) for lyr in new], "temp_leftovers": leftovers,
            "messages": list(iface.bar.messages)}


def harvest(processing: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """Run "geocolor:harvest_wmts" against the WMTS server in ``spec``; describe its VRT and folder."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsRectangle

    started = time.monotonic()
    xmin, ymin, xmax, ymax = spec["bbox"]
    result = processing.run("geocolor:harvest_wmts", {
        "URL": spec["url"], "LAYER": spec["layer"], "EXTENT": f"{xmin},{xmax},{ymin},{ymax} [{spec['crs']}]",
        "ZOOM": spec["zoom"], "PYTHON": CONFIG["python"], "OUTPUT_FOLDER": str(TMP / "harvest")})
    facts: dict[str, Any] = {"seconds": round(time.monotonic() - started, 1), "output": result["OUTPUT"],
                             "folder": result["OUTPUT_FOLDER"]}
    layer = QgsRasterLayer(result["OUTPUT"], "harvest", "gdal")
    facts["layer"] = layer_facts(layer)
    to_layer = QgsCoordinateTransform(QgsCoordinateReferenceSystem(spec["crs"]), layer.crs(), QgsProject.instance())
    facts["covers_request"] = layer.extent().contains(to_layer.transformBoundingBox(QgsRectangle(xmin, ymin, xmax, ymax)))
    return facts


def colorize_through_dialog(plugin: Any, iface: Iface, gray: QgsRasterLayer) -> dict[str, Any]:
    """Trigger the action with the dialog on: fill it in (output, device) and press OK from a timer."""
    from qgis.PyQt.QtCore import QTimer
    from qgis.PyQt.QtWidgets import QApplication

    seen: dict[str, Any] = {}

    def fill_in() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is None:
            QTimer.singleShot(100, fill_in)
            return
        seen["title"] = dialog.windowTitle()
        seen["default_output"] = dialog.output.filePath()
        dialog.output.setFilePath(str(TMP / "from_dialog.tif"))
        dialog.device.setCurrentText("cpu")
        dialog.accept()

    iface.layer = gray
    QTimer.singleShot(100, fill_in)
    os.environ.pop("GEOCOLOR_QGIS_NO_DIALOG", None)
    try:
        [a for a in iface.toolbar.actions() if a.text() == "Colorize layer"][0].trigger()
    finally:
        os.environ["GEOCOLOR_QGIS_NO_DIALOG"] = "1"
    seen["finished"] = wait_for_tasks(plugin)
    seen["layers"] = [lyr.name() for lyr in QgsProject.instance().mapLayers().values()]
    seen["saved_device"] = QSettings().value("geocolor/device")
    return seen


def cancel_a_run(plugin: Any, iface: Iface) -> dict[str, Any]:
    """Start a longer run (the input upsampled 3x), cancel it at its first progress: no layer, no file, quick stop."""
    from geocolor_qgis.engine import ColorizeParams
    from osgeo import gdal

    big = str(TMP / "big_gray.tif")
    gdal.Warp(big, CONFIG["input"], width=1800, height=1800)
    dst = TMP / "cancelled.tif"
    before = set(QgsProject.instance().mapLayers())
    iface.bar.messages.clear()
    task = plugin.start(ColorizeParams(big, str(dst), None, "cpu"))
    wait_for(lambda: task.progress() > 0, 120)
    cancelled_at = time.monotonic()
    task.cancel()
    finished = wait_for_tasks(plugin, 60)
    return {"finished": finished, "stop_seconds": round(time.monotonic() - cancelled_at, 1), "output_exists": dst.exists(),
            "leftovers": sorted(p.name for p in TMP.glob(".cancelled*")), "messages": list(iface.bar.messages),
            "new_layers": len(set(QgsProject.instance().mapLayers()) - before)}


def main() -> dict[str, Any]:
    from processing.core.Processing import Processing

    Processing.initialize()
    import processing
    import qgis.utils
    QSettings().setValue("geocolor/model", "")
    QSettings().setValue("geocolor/device", "auto")
    out: dict[str, Any] = {"qgis": Qgis.QGIS_VERSION}
    iface = Iface()
    gray = QgsRasterLayer(CONFIG["input"], "gray input", "gdal")
    QgsProject.instance().addMapLayer(gray)
    iface.layer = gray
    out["input"] = layer_facts(gray)

    qgis.utils.iface = iface
    qgis.utils.plugin_paths = [CONFIG["plugins"]]
    qgis.utils.updateAvailablePlugins()
    out["available"] = "geocolor_qgis" in qgis.utils.available_plugins
    out["min_version"] = qgis.utils.pluginMetadata("geocolor_qgis", "qgisMinimumVersion")
    out["started"] = qgis.utils.loadPlugin("geocolor_qgis") and qgis.utils.startPlugin("geocolor_qgis")
    plugin = qgis.utils.plugins["geocolor_qgis"]
    from geocolor_qgis.engine import ColorizeParams
    from geocolor_qgis.layers import export_geotiff

    actions = [a for a in iface.toolbar.actions() if a.text() == "Colorize layer"]
    out["toolbar_actions"] = len(actions)
    out["menu_actions"] = [a.text() for m in iface.menus.values() for a in m.actions()]
    out["algorithms"] = sorted(a.id() for a in QgsApplication.processingRegistry().algorithms() if a.provider().id() == "geocolor")

    started = time.monotonic()
    actions[0].trigger()
    out["task_started"] = plugin.last_task is not None
    progress_seen: list[float] = []
    if plugin.last_task is not None:
        plugin.last_task.progressChanged.connect(progress_seen.append)
    out["task_finished"] = wait_for_tasks(plugin)
    out["progress_seen"] = progress_seen
    out["task_seconds"] = round(time.monotonic() - started, 1)
    out["task_progress"] = plugin.last_task.progress() if plugin.last_task else None
    tree = [n.layerId() for n in QgsProject.instance().layerTreeRoot().findLayers()]
    new = [lyr for lyr in QgsProject.instance().mapLayers().values() if lyr.id() != gray.id()]
    out["new_layers"] = [layer_facts(lyr) for lyr in new]
    out["new_above_input"] = bool(new) and tree.index(new[0].id()) < tree.index(gray.id())
    out["messages_after_action"] = list(iface.bar.messages)

    if new:
        out["colourful_fraction"] = screenshot(iface, [new[0], gray], TMP / "canvas.png")
        out["screenshot"] = str(TMP / "canvas.png")

    iface.bar.messages.clear()
    plugin.start(ColorizeParams(CONFIG["input"], str(TMP / "bad.tif"), str(TMP / "no_such_model.pt"), "cpu"), gray.id())
    wait_for_tasks(plugin)
    out["error_messages"] = list(iface.bar.messages)
    out["critical_level"] = int(Qgis.Critical)

    out["memory"] = colorize_memory_layer(plugin, iface, gray)
    out["dialog"] = colorize_through_dialog(plugin, iface, gray)
    out["cancel"] = cancel_a_run(plugin, iface)
    exported = export_geotiff(gray, str(TMP))
    out["exported"] = layer_facts(QgsRasterLayer(exported, "exported", "gdal"))

    started = time.monotonic()
    result = processing.run("geocolor:colorize_raster", {"INPUT": gray, "DEVICE": 1, "PYTHON": CONFIG["python"],
                                                         "OUTPUT": str(TMP / "processing_out.tif")})
    out["processing_seconds"] = round(time.monotonic() - started, 1)
    out["processing_output"] = result["OUTPUT"]
    out["processing_layer"] = layer_facts(QgsRasterLayer(result["OUTPUT"], "processed", "gdal"))
    [memory_layer] = QgsProject.instance().mapLayersByName("in memory")
    result = processing.run("geocolor:colorize_raster", {"INPUT": memory_layer, "DEVICE": 1, "PYTHON": CONFIG["python"],
                                                         "OUTPUT": str(TMP / "processing_memory.tif")})
    out["processing_memory_layer"] = layer_facts(QgsRasterLayer(result["OUTPUT"], "processed memory", "gdal"))
    out["processing_temp_leftovers"] = sorted(p.name for p in TMP.glob("geocolor_*.tif") if p.name != Path(exported).name)

    if CONFIG.get("harvest"):
        out["harvest"] = harvest(processing, CONFIG["harvest"])
    qgis.utils.unloadPlugin("geocolor_qgis")
    out["toolbar_after_unload"] = len(iface.toolbar.actions())
    out["provider_after_unload"] = QgsApplication.processingRegistry().providerById("geocolor") is not None
    return out


if __name__ == "__main__":
    print("RESULT " + json.dumps(main()), flush=True)
    APP.exitQgis()
