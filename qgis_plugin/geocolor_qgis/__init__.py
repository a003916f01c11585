"""geocolor QGIS plugin: colorize gray raster layers with the geocolor engine (toolbar action + Processing)."""

from __future__ import annotations

from typing import Any


def classFactory(iface: Any) -> Any:  # noqa: N802  (the name QGIS looks for)
    """QGIS entry point: build the plugin; heavy imports happen later, in ``initGui`` and when run."""
    from .plugin import GeocolorPlugin

    return GeocolorPlugin(iface)
