"""Make the plugin package ``geocolor_qgis`` (in ``qgis_plugin/``) importable for the pure-Python tests."""

from __future__ import annotations

import sys
from pathlib import Path

PLUGIN_ROOT = Path(__file__).resolve().parents[2] / "qgis_plugin"
if str(PLUGIN_ROOT) not in sys.path:
    sys.path.insert(0, str(PLUGIN_ROOT))
