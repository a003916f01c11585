"""Run the plugin's inpainting in a real headless QGIS (``/usr/bin/python3``, see test_inpaint_in_qgis.py).

Argument: a JSON object {"plugins", "python", "tmp", "input", "mask", "inpaint_model", "colorize_model", "hole"}.
Loads the plugin from ``plugins`` (the unpacked plugin zip) with QGIS's own loader, runs
"geocolor:inpaint_raster" (with and without a mask layer, and with a bad model) and "geocolor:colorize_raster"
with "Fill nodata holes first" through ``processing.run``, loads each output as a project layer, fills in the
"Colorize layer" dialog's new options, and prints one line ``RESULT <json>`` describing it all.
"""

from __future__ import annotations

import json
from typing import Any

from qgis.core import QgsApplication, QgsProcessingException, QgsProject, QgsRasterLayer
from qgis_app import APP, CONFIG, TMP  # the config, sys.path and a started QgsApplication
from qgis_script import Iface  # the iface stand-in (importing it runs nothing)


def layer_facts(path: str, name: str) -> dict[str, Any]:
    """Load ``path`` into the project and describe it, with the nodata pixels it reads in the hole box."""
    layer = QgsRasterLayer(path, name, "gdal")
    QgsProject.instance().addMapLayer(layer)
    e = layer.extent()
    r0, r1, c0, c1 = CONFIG["hole"]
    provider = layer.dataProvider()
    block = provider.block(1, e, layer.width(), layer.height())
    nodata_in_hole = sum(block.isNoData(r, c) for r in range(r0, r1) for c in range(c0, c1))
    return {"valid": layer.isValid(), "crs": layer.crs().authid(), "bands": layer.bandCount(), "in_project": bool(
        QgsProject.instance().mapLayersByName(name)), "extent": [e.xMinimum(), e.yMinimum(), e.xMaximum(), e.yMaximum()],
        "size": [layer.width(), layer.height()], "pixel": [layer.rasterUnitsPerPixelX(), layer.rasterUnitsPerPixelY()],
        "nodata_in_hole": nodata_in_hole}


def run(algorithm: str, parameters: dict[str, Any]) -> dict[str, Any]:
    import processing

    try:
        return {"output": processing.run(algorithm, {"DEVICE": 1, "PYTHON": CONFIG["python"], **parameters})["OUTPUT"]}
    except QgsProcessingException as e:
        return {"error": str(e)}


def dialog_choice() -> dict[str, Any]:
    """The "Colorize layer" dialog with "Fill nodata holes first" ticked and a style reference chosen (not shown)."""
    from geocolor_qgis.dialog import ColorizeDialog

    dialog = ColorizeDialog("gray with hole", CONFIG["input"], str(TMP / "from_dialog.tif"))
    defaults = dialog.choice().params
    dialog.fill_nodata.setChecked(True)
    dialog.style.setFilePath(CONFIG["mask"])
    params = dialog.choice().params
    return {"default_fill_nodata": defaults.fill_nodata, "default_style": defaults.style,
            "fill_nodata": params.fill_nodata, "style": params.style, "request": json.loads(params.to_json()),
            "devices": [dialog.device.itemText(i) for i in range(dialog.device.count())]}


def main() -> dict[str, Any]:
    from processing.core.Processing import Processing

    Processing.initialize()
    import qgis.utils

    qgis.utils.iface = Iface()
    qgis.utils.plugin_paths = [CONFIG["plugins"]]
    qgis.utils.updateAvailablePlugins()
    out: dict[str, Any] = {"started": qgis.utils.loadPlugin("geocolor_qgis") and qgis.utils.startPlugin("geocolor_qgis")}
    registry = QgsApplication.processingRegistry()
    out["algorithms"] = sorted(a.id() for a in registry.algorithms() if a.provider().id() == "geocolor")
    inpaint_alg = registry.algorithmById("geocolor:inpaint_raster")
    out["inpaint_name"] = inpaint_alg.displayName() if inpaint_alg else None
    out["inpaint_parameters"] = [p.name() for p in inpaint_alg.parameterDefinitions()] if inpaint_alg else []
    out["device_options"] = {alg: registry.algorithmById(alg).parameterDefinition("DEVICE").options()
                             for alg in ("geocolor:colorize_raster", "geocolor:inpaint_raster")}
    colorize_alg = registry.algorithmById("geocolor:colorize_raster")
    out["colorize_advanced"] = {p.name(): p.description() for p in colorize_alg.parameterDefinitions()
                                if p.flags() & p.FlagAdvanced}
    gray = QgsRasterLayer(CONFIG["input"], "gray with hole", "gdal")
    QgsProject.instance().addMapLayer(gray)
    out["input"] = layer_facts(CONFIG["input"], "input facts")
    mask = QgsRasterLayer(CONFIG["mask"], "mask", "gdal")

    result = run("geocolor:inpaint_raster", {"INPUT": gray, "MODEL": CONFIG["inpaint_model"], "OUTPUT": str(TMP / "filled.tif")})
    out["inpaint"] = {**result, "layer": layer_facts(result["output"], "filled") if "output" in result else None}
    result = run("geocolor:inpaint_raster", {"INPUT": gray, "MASK": mask, "MODEL": CONFIG["inpaint_model"],
                                             "OUTPUT": str(TMP / "masked.tif")})
    out["inpaint_mask"] = {**result, "layer": layer_facts(result["output"], "masked") if "output" in result else None}
    out["inpaint_bad_model"] = run("geocolor:inpaint_raster", {"INPUT": gray, "MODEL": str(TMP / "no_such_inpaint.pt"),
                                                               "OUTPUT": str(TMP / "bad.tif")})
    result = run("geocolor:colorize_raster", {"INPUT": gray, "MODEL": CONFIG["colorize_model"], "FILL_NODATA": True,
                                              "OUTPUT": str(TMP / "colour_filled.tif")})
    out["colorize_filled"] = {**result, "layer": layer_facts(result["output"], "colour filled") if "output" in result else None}
    result = run("geocolor:colorize_raster", {"INPUT": gray, "MODEL": CONFIG["colorize_model"], "STYLE": "no_such_style",
                                              "OUTPUT": str(TMP / "colour_styled.tif")})
    out["colorize_bad_style"] = result
    out["colorize_dodged"] = run("geocolor:colorize_raster", {"INPUT": gray, "MODEL": CONFIG["colorize_model"], "DODGE": 20.0,
                                                              "OUTPUT": str(TMP / "colour_dodged.tif")})
    out["dialog"] = dialog_choice()
    out["leftovers"] = sorted(p.name for p in TMP.iterdir() if p.name.startswith(("geocolor_", ".")))
    qgis.utils.unloadPlugin("geocolor_qgis")
    return out


if __name__ == "__main__":
    print("RESULT " + json.dumps(main()), flush=True)
    APP.exitQgis()
