"""Dodging: take the slow exposure changes out of what the network sees.

Old aerial frames are darker towards their corners (lens light fall-off, "vignetting") and drift in
exposure across the frame; the same field then looks darker in one corner than in the centre, and a
colorization network that reads colour from tone paints it another colour. Photogrammetrists have
long "dodged" such frames before mosaicking. geocolor does the same to the network's *input* only:

    L*' + 16 = (L* + 16) * gain(x, y)

where ``gain`` is the ratio of the frame's overall (geometric) mean of ``L* + 16`` to its local mean
over a Gaussian of ``radius`` pixels (a multiplicative change of linear luminance Y scales
``L* + 16``, nearly Y^(1/3), by a factor). The field is measured once on a decimated read of the
whole raster (bounded memory whatever its size) and interpolated smoothly, so tiles stay seamless.
The output keeps the photo's own L*.

The radius should be a good fraction of one frame (a tenth of its side is a fair start): a small
radius would also flatten real differences between a dark forest and a bright field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from geocolor.raster import InputPlan
    from geocolor.types import RasterReader

MAX_SIDE = 512  # long side of the decimated read the field is measured on


def log_gain_field(lightness: np.ndarray, valid: np.ndarray, sigma: float) -> np.ndarray:
    """log(gain) on a grid of L* values (H, W) with a validity mask: mean minus local mean of log(L* + 16).

    The local mean is a normalised Gaussian convolution (nodata does not pull it down); ``sigma`` in
    grid cells. Pure function.
    """
    from scipy.ndimage import gaussian_filter

    logl = np.log(np.clip(np.asarray(lightness, dtype=np.float64), 0.0, 100.0) + 16.0)
    w = np.asarray(valid, dtype=np.float64)
    if not w.any():
        return np.zeros_like(logl)
    num = gaussian_filter(logl * w, sigma, mode="nearest")
    den = gaussian_filter(w, sigma, mode="nearest")
    local = np.where(den > 1e-6, num / np.maximum(den, 1e-6), 0.0)
    overall = float((logl * w).sum() / w.sum())
    return np.where(den > 1e-6, overall - local, 0.0)


def _axis_weights(start: int, n: int, scale: float, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Index and fraction of the grid cells around full-resolution pixels start..start+n-1."""
    pos = np.clip((np.arange(start, start + n) + 0.5) / scale - 0.5, 0.0, cells - 1.0)
    i0 = np.minimum(pos.astype(int), max(cells - 2, 0))
    return i0, (pos - i0) if cells > 1 else np.zeros(n)


@dataclass(frozen=True)
class ExposureField:
    """log(gain) on a coarse grid covering a raster; ``scale`` = full-resolution pixels per grid cell (y, x)."""

    log_gain: np.ndarray
    scale: tuple[float, float]
    radius: float

    def gain(self, x0: int, y0: int, height: int, width: int) -> np.ndarray:
        """The gain (height, width) at full-resolution pixels from (x0, y0), bilinear between cells."""
        g = self.log_gain
        iy, fy = _axis_weights(y0, height, self.scale[0], g.shape[0])
        ix, fx = _axis_weights(x0, width, self.scale[1], g.shape[1])
        jy, jx = np.minimum(iy + 1, g.shape[0] - 1), np.minimum(ix + 1, g.shape[1] - 1)
        rows = g[iy] * (1 - fy)[:, None] + g[jy] * fy[:, None]
        return np.exp(rows[:, ix] * (1 - fx) + rows[:, jx] * fx).astype(np.float32)

    def apply(self, lightness: np.ndarray, x0: int, y0: int) -> np.ndarray:
        """``lightness`` (H, W), the L* of the pixels from (x0, y0), dodged."""
        gain = self.gain(x0, y0, *lightness.shape)
        return np.clip((lightness + 16.0) * gain - 16.0, 0.0, 100.0).astype(np.float32)


def read_exposure_field(ds: RasterReader, plan: InputPlan, radius: float, max_side: int = MAX_SIDE) -> ExposureField:
    """The exposure field of an open raster ``ds`` (read through ``plan``), Gaussian ``radius`` in its pixels."""
    from rasterio.enums import Resampling

    from geocolor.raster import to_lightness

    factor = max(1.0, max(ds.width, ds.height) / max_side)
    shape = (max(1, round(ds.height / factor)), max(1, round(ds.width / factor)))
    data = ds.read(list(plan.bands), out_shape=(len(plan.bands), *shape), resampling=Resampling.average)
    valid = ds.dataset_mask(out_shape=shape) > 0
    lum = to_lightness(data, plan)
    scale = (ds.height / shape[0], ds.width / shape[1])
    return ExposureField(log_gain_field(lum, valid, radius / max(scale)), scale, float(radius))
