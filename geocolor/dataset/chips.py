"""Chip windows over a source and the filters that decide which chips are worth keeping.

``chip_windows`` lays a regular grid of ``size`` x ``size`` windows, ``stride`` apart, inside a
source (windows that would cross the raster edge are left out). Each ``ChipWindow`` has a stable id
(``<source>_<row>_<col>``), so re-runs and resumes name the same chip the same way.

The filters are plain functions in ``FILTERS`` (name -> function returning True to skip), applied in
order: mostly nodata, blank (flat), cloud-white. Duplicates are found with a 64-bit difference hash
of the gray chip (``dhash``): a chip whose hash was already kept is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from geocolor.dataset.config import FilterConfig
from geocolor.dataset.sources import Source


@dataclass(frozen=True)
class ChipWindow:
    """One candidate chip: which source, which window, and its id."""

    source: int
    window: Window
    id: str


def chip_windows(src: Source, index: int, size: int, stride: int) -> Iterator[ChipWindow]:
    """Row-major grid of full windows inside the source."""
    for row in range(0, src.height - size + 1, stride):
        for col in range(0, src.width - size + 1, stride):
            yield ChipWindow(index, Window(col, row, size, size), f"{src.name}_{row:06d}_{col:06d}")


def window_valid_fraction(overview: np.ndarray, factor: int, window: Window) -> float:
    """Approximate valid fraction of a window from a mask decimated by ``factor``."""
    r0, c0 = int(window.row_off) // factor, int(window.col_off) // factor
    r1 = -(-(int(window.row_off) + int(window.height)) // factor)
    c1 = -(-(int(window.col_off) + int(window.width)) // factor)
    part = overview[r0:r1, c0:c1]
    return float(part.mean()) if part.size else 0.0


def _mostly_nodata(rgb: np.ndarray, gray: np.ndarray, valid: np.ndarray, cfg: FilterConfig) -> bool:
    return bool(1.0 - valid.mean() > cfg.max_nodata)


def _blank(rgb: np.ndarray, gray: np.ndarray, valid: np.ndarray, cfg: FilterConfig) -> bool:
    values = gray[valid]
    return bool(values.size == 0 or values.std() < cfg.min_std)


def white_fraction(rgb: np.ndarray, valid: np.ndarray, level: int) -> float:
    """Fraction of valid pixels that are near-white and unsaturated (cloud, snow, glare, overexposure)."""
    lo = rgb.min(axis=-1)
    spread = rgb.max(axis=-1).astype(np.int16) - lo
    white = (lo >= level) & (spread < 24) & valid
    return float(white.sum() / max(1, valid.sum()))


def _cloud_white(rgb: np.ndarray, gray: np.ndarray, valid: np.ndarray, cfg: FilterConfig) -> bool:
    return rgb.ndim == 3 and white_fraction(rgb, valid, cfg.white_level) > cfg.max_white


ChipFilter = Callable[[np.ndarray, np.ndarray, np.ndarray, FilterConfig], bool]
FILTERS: dict[str, ChipFilter] = {"nodata": _mostly_nodata, "blank": _blank, "cloud": _cloud_white}


def skip_reason(rgb: np.ndarray, gray: np.ndarray, valid: np.ndarray, cfg: FilterConfig) -> str | None:
    """The name of the first filter that rejects the chip, or None to keep it."""
    for name, rejects in FILTERS.items():
        if rejects(rgb, gray, valid, cfg):
            return name
    return None


def dhash(gray: np.ndarray) -> str:
    """64-bit difference hash (hex) of a gray chip: signs of horizontal gradients on a 9 x 8 thumbnail."""
    from PIL import Image

    small = np.asarray(Image.fromarray(gray).resize((9, 8), Image.Resampling.BOX), dtype=np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return f"{int(np.packbits(bits).view('>u8')[0]):016x}"
