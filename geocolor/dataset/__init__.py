"""Training chips from colour rasters: gray input that looks like old film, colour target, split by geography.

``build_dataset(DatasetConfig(src=[...], out=...))`` is the library entry point (``geocolor dataset``
is its shell); ``PairedChips`` and ``UnpairedImages`` read a built dataset back for training. The
submodules each do one job: ``sources`` (windowed reads of rasters, VRTs, tile folders), ``chips``
(windows and filters), ``gray`` (colour -> gray), ``film`` (degradation), ``splits`` and ``planning``
(spatial block splits), ``layouts`` (files and manifest), ``state`` (resume), ``stats``, ``preview``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geocolor.lazy import lazy_exports

if TYPE_CHECKING:
    from geocolor.dataset.build import DatasetResult, build_dataset
    from geocolor.dataset.config import DatasetConfig, FilmConfig, FilterConfig
    from geocolor.dataset.loader import Chip, PairedChips, UnpairedImages

__all__ = ["Chip", "DatasetConfig", "DatasetResult", "FilmConfig", "FilterConfig", "PairedChips", "UnpairedImages", "build_dataset"]

_HOMES = {
    "build_dataset": "build", "DatasetResult": "build", "DatasetConfig": "config", "FilmConfig": "config",
    "FilterConfig": "config", "Chip": "loader", "PairedChips": "loader", "UnpairedImages": "loader",
}


__getattr__ = lazy_exports(__name__, _HOMES)
