"""The plugin's remembered choices (QSettings under ``geocolor/``) and where its own engine lives.

Keys: ``python`` (the engine Python; empty: auto-detect), ``model``, ``device``, ``engine_source`` (what
"Install the geocolor engine" pip-installs; empty: ``$GEOCOLOR_ENGINE_SOURCE``, else the package index),
``base_python`` (the Python that creates the engine's environment; empty: ``$GEOCOLOR_BASE_PYTHON``, else
QGIS's own or one on PATH). ``engine_from_settings`` turns them into the engine a run uses; the action
(``plugin``) and the Processing algorithms (``algorithms``) both ask here, so neither imports the other.
"""

from __future__ import annotations

import os
from pathlib import Path

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QSettings

from .discovery import find_engine
from .engine import DEVICES, Engine
from .installer import BASE_PYTHON_VARIABLE, SOURCE_VARIABLE

PREFIX = "geocolor/"
PLUGIN_DIR = Path(__file__).resolve().parent

__all__ = ["DEVICES", "PLUGIN_DIR", "PREFIX", "base_python", "device", "engine_from_settings", "engine_home", "engine_source",
           "get", "put"]


def get(key: str, default: str = "") -> str:
    value = QSettings().value(PREFIX + key, default)
    return str(value) if value is not None else default


def put(key: str, value: str) -> None:
    QSettings().setValue(PREFIX + key, value)


def device() -> str:
    """The remembered device, or ``auto`` when none is remembered or it is no longer offered."""
    remembered = get("device", "auto")
    return remembered if remembered in DEVICES else "auto"


def engine_home() -> Path:
    """``<QGIS profile folder>/geocolor``: where "Install the geocolor engine" puts the engine (``installer``)."""
    return Path(QgsApplication.qgisSettingsDirPath()) / "geocolor"


def engine_source() -> str:
    """What the installer installs: the setting, else ``$GEOCOLOR_ENGINE_SOURCE``, else '' (the package index)."""
    return get("engine_source") or os.environ.get(SOURCE_VARIABLE, "")


def base_python() -> str | None:
    """The Python to create the engine's environment with, when one is set (setting, then ``$GEOCOLOR_BASE_PYTHON``)."""
    return get("base_python") or os.environ.get(BASE_PYTHON_VARIABLE) or None


def engine_from_settings(python: str | None = None) -> Engine:
    """The engine for a run: ``python`` if given, else the remembered one, else auto-detected (``discovery``)."""
    return find_engine(python if python is not None else get("python") or None, PLUGIN_DIR, engine_home=engine_home())
