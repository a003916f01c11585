"""The start shared by the scripts that run under QGIS's Python: their JSON config and a headless QgsApplication.

``sys.argv[1]`` is the script's JSON config (``plugins``: the unpacked plugin zip, ``tmp``: a work folder);
the plugin folder and QGIS's own plugins (``processing``) go first on ``sys.path``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CONFIG = json.loads(sys.argv[1])
TMP = Path(CONFIG["tmp"])
sys.path[:0] = [CONFIG["plugins"], "/usr/share/qgis/python/plugins"]

from qgis.core import QgsApplication  # noqa: E402

APP = QgsApplication([], True, str(TMP / "profile"))
APP.setPrefixPath("/usr", True)
APP.initQgis()
