"""The plugin's remembered choices (QSettings under ``geocolor/``): engine Python, model, device, last folder.

``engine_from_settings`` turns them into the engine a run uses; the action (``plugin``) and the Processing
algorithms (``algorithms``) both ask here, so neither imports the other.
"""

from __future__ import annotations

from pathlib import Path

from qgis.PyQt.QtCore import QSettings

from .engine import DEVICES, Engine, find_engine

PREFIX = "geocolor/"
PLUGIN_DIR = Path(__file__).resolve().parent

__all__ = ["DEVICES", "PLUGIN_DIR", "PREFIX", "device", "engine_from_settings", "get", "put"]


def get(key: str, default: str = "") -> str:
    value = QSettings().value(PREFIX + key, default)
    return str(value) if value is not None else default


def put(key: str, value: str) -> None:
    QSettings().setValue(PREFIX + key, value)


def device() -> str:
    """The remembered device, or ``auto`` when none is remembered or it is no longer offered."""
    remembered = get("device", "auto")
    return remembered if remembered in DEVICES else "auto"


def engine_from_settings(python: str | None = None) -> Engine:
    """The engine for a run: ``python`` if given, else the remembered one, else auto-detected."""
    return find_engine(python if python is not None else get("python") or None, PLUGIN_DIR)
