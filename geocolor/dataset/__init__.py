"""Training chips from colour rasters: gray input that looks like old film, colour target, split by geography.

``build_dataset(DatasetConfig(src=[...], out=...))`` is the library entry point (``geocolor dataset``
is its shell); ``PairedChips`` and ``UnpairedImages`` read a built dataset back for training. The
submodules each do one job: ``sources`` (windowed reads of rasters, VRTs, tile folders), ``chips``
(windows and filters), ``gray`` (colour -> gray), ``film`` (degradation), ``splits`` and ``planning``
(spatial block splits), ``layouts`` (files and manifest), ``state`` (resume), ``stats``, ``preview``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geocolor.dataset.build import DatasetResult, build_dataset
    from geocolor.dataset.config import DatasetConfig, FilmConfig, FilterConfig
    from geocolor.dataset.loader import Chip, PairedChips, UnpairedImages

__all__ = ["Chip", "DatasetConfig", "DatasetResult", "FilmConfig", "FilterConfig", "PairedChips", "UnpairedImages", "build_dataset"]

_HOMES = {
    "build_dataset": "build", "DatasetResult": "build", "DatasetConfig": "config", "FilmConfig": "config",
    "FilterConfig": "config", "Chip": "loader", "PairedChips": "loader", "UnpairedImages": "loader",
}


def __getattr__(name: str) -> Any:
    """Import the public names lazily, so ``import geocolor.dataset`` stays cheap."""
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"geocolor.dataset.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'geocolor.dataset' has no attribute {name!r}")
