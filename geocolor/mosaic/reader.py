"""Opening the input raster and turning windows of it into CIE L* (luminance) plus a validity mask.

What counts as luminance:
- one band (or gray + alpha): the band, read as an sRGB gray image; uint8 is used as is, other types
  (uint16 scans, floats) are stretched between two percentiles measured on a decimated read;
- three bands (or RGB + alpha): taken as sRGB colour and reduced to its L*;
- anything else needs ``bands=`` (one band, or three), so the user says which bands are meant.

``dataset_mask`` carries nodata values, alpha bands and internal masks alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from geocolor.color import gray_to_lightness, rgb_to_lab, uint8_lightness_lut
from geocolor.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InputPlan:
    """How to read the input: which bands, and how to scale them to [0, 1]."""

    bands: tuple[int, ...]
    lo: float
    hi: float
    uint8: bool


def open_input(path: str) -> Any:
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    try:
        with warnings.catch_warnings():
            # a scan or painting without georeferencing is fine: colorize() says so in one line
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path)
    except RasterioIOError as e:
        msg = str(e).splitlines()[0] if str(e) else "unreadable"
        if "No such file" in msg or "does not exist" in msg:
            raise InputError(f"input {path} does not exist") from None
        raise InputError(f"{path} is not a raster GDAL can read ({msg[:150]})") from None


def is_georeferenced(ds: Any) -> bool:
    """True when ``ds`` has a CRS, a non-identity transform or ground control points."""
    return ds.crs is not None or not ds.transform.is_identity or bool(ds.gcps[0])


def plan_input(ds: Any, bands: tuple[int, ...] | None = None, percentiles: tuple[float, float] = (0.5, 99.5)) -> InputPlan:
    """Choose bands and the value scaling for ``ds``; raise ``InputError`` for unusable inputs."""
    from rasterio.enums import ColorInterp

    name = ds.name
    if ds.count == 0:
        raise InputError(f"{name} has no raster bands")
    if bands:
        if len(bands) not in (1, 3) or any(b < 1 or b > ds.count for b in bands):
            raise InputError(f"--bands {','.join(map(str, bands))} must name 1 or 3 of the input's bands 1..{ds.count}")
        chosen = tuple(bands)
    else:
        colour = [i + 1 for i, c in enumerate(ds.colorinterp) if c != ColorInterp.alpha]
        if len(colour) in (1, 3):
            chosen = tuple(colour)
        else:
            raise InputError(
                f"{name} has {ds.count} bands; choose the gray band with --bands N (or three colour bands with --bands R,G,B)"
            )
    dtypes = {ds.dtypes[b - 1] for b in chosen}
    if any(np.dtype(d).kind == "c" for d in dtypes):
        raise InputError(f"{name} has complex-valued bands, which are not images")
    if dtypes == {"uint8"}:
        return InputPlan(chosen, 0.0, 255.0, True)
    lo, hi = _percentiles(ds, chosen, percentiles)
    log.info("stretching %s values %.4g..%.4g to the full gray range", ",".join(dtypes), lo, hi)
    return InputPlan(chosen, lo, hi, False)


def _percentiles(ds: Any, bands: tuple[int, ...], pct: tuple[float, float], target: int = 1024) -> tuple[float, float]:
    """Percentiles of the valid pixels on a decimated read (bounded memory, whatever the size)."""
    factor = max(1, int(np.ceil(max(ds.width, ds.height) / target)))
    shape = (max(1, ds.height // factor), max(1, ds.width // factor))
    data = ds.read(list(bands), out_shape=(len(bands), *shape), masked=True)
    valid = data.compressed() if np.ma.isMaskedArray(data) else data.ravel()
    valid = valid[np.isfinite(valid)] if valid.dtype.kind == "f" else valid
    if valid.size == 0:
        raise InputError(f"{ds.name} holds no valid pixels (all nodata)")
    lo, hi = (float(v) for v in np.percentile(valid, pct))
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


_LUT = uint8_lightness_lut()


def to_lightness(data: np.ndarray, plan: InputPlan) -> np.ndarray:
    """Bands (B, H, W) of the input -> L* (H, W) float32 in [0, 100]."""
    if plan.uint8 and data.shape[0] == 1:
        return _LUT[data[0]]
    scaled = data.astype(np.float32)
    if not plan.uint8 or plan.lo != 0 or plan.hi != 255:
        scaled = (scaled - plan.lo) / (plan.hi - plan.lo)
    else:
        scaled /= 255.0
    scaled = np.nan_to_num(np.clip(scaled, 0.0, 1.0), nan=0.0)
    if data.shape[0] == 1:
        return gray_to_lightness(scaled[0]).astype(np.float32)
    return rgb_to_lab(np.moveaxis(scaled, 0, -1))[..., 0].astype(np.float32)
