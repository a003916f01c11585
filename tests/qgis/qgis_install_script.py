"""A new user's first run of the plugin in a real headless QGIS (run by ``/usr/bin/python3``, see test_install_in_qgis.py).

Argument: a JSON object {"plugins", "tmp", "input", "harvest"}. The profile is empty and no geocolor engine is
anywhere (no $GEOCOLOR_PYTHON, none on PATH, none in QGIS's Python). Loads the plugin from the unpacked zip with
QGIS's own loader, triggers "Colorize layer" (which must offer the install instead of failing), clicks the
message bar's "Install the geocolor engine" button, waits for the install task, triggers "Colorize layer" again
on the 16-bit input, reads the input layer's renderer, runs "geocolor:harvest_wmts" with a western-hemisphere
EPSG:4326 extent through the installed engine, and prints one line ``RESULT <json>``.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsProcessingFeedback,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
)
from qgis.PyQt.QtWidgets import QPushButton
from qgis_app import APP, CONFIG, TMP  # the config, sys.path and a started QgsApplication
from qgis_script import Iface, layer_facts, wait_for, wait_for_tasks


class RecordingFeedback(QgsProcessingFeedback):
    def __init__(self) -> None:
        super().__init__()
        self.infos: list[str] = []

    def pushInfo(self, info: str) -> None:  # noqa: N802
        self.infos.append(info)
        super().pushInfo(info)


def renderer_facts(layer: QgsRasterLayer) -> dict[str, Any]:
    renderer = layer.renderer()
    facts: dict[str, Any] = {"type": renderer.type(), "limits": int(renderer.minMaxOrigin().limits())}
    enhancement = getattr(renderer, "contrastEnhancement", lambda: None)()
    if enhancement is not None:
        facts.update(min=enhancement.minimumValue(), max=enhancement.maximumValue(),
                     algorithm=int(enhancement.contrastEnhancementAlgorithm()))
    return facts


def colorize(plugin: Any, iface: Iface) -> dict[str, Any]:
    """Trigger "Colorize layer" on the active layer; what happened: the task, new layers, messages."""
    before = set(QgsProject.instance().mapLayers())
    iface.bar.messages.clear()
    iface.bar.widgets.clear()
    plugin.last_task = None
    [a for a in iface.toolbar.actions() if a.text() == "Colorize layer"][0].trigger()
    task = plugin.last_task
    finished = wait_for_tasks(plugin, 300)
    new = [QgsProject.instance().mapLayer(i) for i in set(QgsProject.instance().mapLayers()) - before]
    return {"task": task is not None, "finished": finished, "info": dict(task.info) if task is not None else None,
            "new_layers": [layer_facts(layer) for layer in new], "messages": list(iface.bar.messages),
            "buttons": [b.text() for w in iface.bar.widgets for b in w.findChildren(QPushButton)]}


def cancel_an_install(plugin: Any, iface: Iface, home: Path) -> dict[str, Any]:
    """Start the install from the Raster menu and cancel it once pip runs: nothing may stay behind."""
    [action] = [a for m in iface.menus.values() for a in m.actions() if a.text() == "Install the geocolor engine"]
    iface.bar.messages.clear()
    action.trigger()
    task = plugin.install_task
    if task is None:
        return {"started": False, "messages": list(iface.bar.messages)}
    pip_running = wait_for(lambda: task.progress() >= 8.0, 120)  # the environment exists, pip has started
    cancelled_at = time.monotonic()
    task.cancel()
    done = wait_for(lambda: plugin.install_task is None, 60)
    return {"started": True, "pip_running": pip_running, "done": done, "stop_seconds": round(time.monotonic() - cancelled_at, 1),
            "engine_left": (home / "engine").exists(), "lock_left": (home / "engine-install.lock").exists(),
            "messages": list(iface.bar.messages)}


def install_by_button(plugin: Any, iface: Iface) -> dict[str, Any]:
    """Click the message bar's install button; wait for the install task; describe the environment it made."""
    [button] = [b for w in iface.bar.widgets for b in w.findChildren(QPushButton) if b.text() == "Install the geocolor engine"]
    iface.bar.messages.clear()
    started = time.monotonic()
    button.click()
    task = plugin.install_task
    progress: list[float] = []
    if task is not None:
        task.progressChanged.connect(progress.append)
    done = wait_for(lambda: plugin.install_task is None, 600)
    facts: dict[str, Any] = {"started": task is not None, "done": done, "seconds": round(time.monotonic() - started, 1),
                             "progress_seen": progress, "messages": list(iface.bar.messages),
                             "python": task.python if task is not None else None, "error": task.error if task else None}
    if facts["python"]:
        python = facts["python"]
        facts["marker"] = json.loads((Path(python).parents[1] / "geocolor-engine.json").read_text())
        facts["pyvenv_cfg"] = (Path(python).parents[1] / "pyvenv.cfg").read_text()
        facts["imports"] = {name: subprocess.run([python, "-c", f"import {name}"], capture_output=True).returncode == 0
                            for name in ("qgis", "torch", "onnxruntime", "geocolor")}
    return facts


def harvest_west(processing: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """"geocolor:harvest_wmts" with an EPSG:4326 extent whose x values are negative, and every option set; no PYTHON:
    the engine the plugin found. What the harvest recorded in its manifest is what reached the engine."""
    xmin, ymin, xmax, ymax = spec["bbox"]
    feedback = RecordingFeedback()
    result = processing.run("geocolor:harvest_wmts", {
        "URL": spec["url"], "LAYER": spec["layer"], "EXTENT": f"{xmin},{xmax},{ymin},{ymax} [EPSG:4326]",
        "ZOOM": spec["zoom"], "TMS": "WebMercatorQuad", "OVERWRITE": True, "OUTPUT_FOLDER": str(TMP / "harvest_west")},
        feedback=feedback)
    manifest = json.loads((Path(result["OUTPUT_FOLDER"]) / "manifest.json").read_text())
    layer = QgsRasterLayer(result["OUTPUT"], "harvest", "gdal")
    to_layer = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"), layer.crs(), QgsProject.instance())
    return {"output": result["OUTPUT"], "infos": feedback.infos, "layer": layer_facts(layer),
            "covers_request": layer.extent().contains(to_layer.transformBoundingBox(QgsRectangle(xmin, ymin, xmax, ymax))),
            "received": {"aoi": manifest["aoi"], "tms": manifest["tms"], "zoom": manifest["zoom"],
                         "url": manifest["source"]["capabilities"], "layer": manifest["source"]["layer"]}}


def main() -> dict[str, Any]:
    from processing.core.Processing import Processing

    Processing.initialize()
    import processing
    import qgis.utils

    out: dict[str, Any] = {"profile": QgsApplication.qgisSettingsDirPath()}
    iface = Iface()
    gray = QgsRasterLayer(CONFIG["input"], "gray 16-bit", "gdal")
    QgsProject.instance().addMapLayer(gray)
    iface.layer = gray
    out["renderer_before"] = renderer_facts(gray)
    qgis.utils.iface = iface
    qgis.utils.plugin_paths = [CONFIG["plugins"]]
    qgis.utils.updateAvailablePlugins()
    out["started"] = qgis.utils.loadPlugin("geocolor_qgis") and qgis.utils.startPlugin("geocolor_qgis")
    plugin = qgis.utils.plugins["geocolor_qgis"]
    out["menu_actions"] = [a.text() for m in iface.menus.values() for a in m.actions()]
    out["algorithms"] = sorted(a.id() for a in QgsApplication.processingRegistry().algorithms() if a.provider().id() == "geocolor")

    out["no_engine"] = colorize(plugin, iface)
    out["temp_leftovers"] = sorted(p.name for p in TMP.glob("geocolor_*.tif"))
    out["cancelled_install"] = cancel_an_install(plugin, iface, Path(QgsApplication.qgisSettingsDirPath()) / "geocolor")
    out["install"] = install_by_button(plugin, iface)
    out["colorize"] = colorize(plugin, iface)
    out["renderer_after"] = renderer_facts(gray)
    if CONFIG.get("harvest"):
        try:
            out["harvest"] = harvest_west(processing, CONFIG["harvest"])
        except Exception as e:  # noqa: BLE001  (reported to the outer test, which fails on it)
            out["harvest"] = {"error": f"{type(e).__name__}: {e}"}
    qgis.utils.unloadPlugin("geocolor_qgis")
    out["menu_after_unload"] = [a.text() for m in iface.menus.values() for a in m.actions()]
    return out


if __name__ == "__main__":
    print("RESULT " + json.dumps(main()), flush=True)
    APP.exitQgis()
