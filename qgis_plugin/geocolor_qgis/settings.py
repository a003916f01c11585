"""The plugin's remembered choices (QSettings under ``geocolor/``): engine Python, model, device, last folder."""

from __future__ import annotations

from qgis.PyQt.QtCore import QSettings

PREFIX = "geocolor/"
DEVICES = ("auto", "cpu", "cuda", "mps")


def get(key: str, default: str = "") -> str:
    value = QSettings().value(PREFIX + key, default)
    return str(value) if value is not None else default


def put(key: str, value: str) -> None:
    QSettings().setValue(PREFIX + key, value)
