"""Colour statistics of a style reference: a colour raster (georeferenced or not) of any size.

The reference is read decimated to at most ``max_side`` pixels on its long side (bounded memory and
time, whatever its size), its valid pixels (nodata, alpha and black collars excluded) converted to
Lab, and kept as a pixel sample from which both the a*b* moments (palette matching) and the style
code (stylecolor models) are computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geocolor.errors import InputError
from geocolor.style.palette import Moments, ab_moments
from geocolor.types import PathLike

MAX_SAMPLE = 1 << 18  # pixels kept in a colour sample


@dataclass(frozen=True)
class ColorSample:
    """Lab pixels (M, 3) standing for an image's colours, with where they came from."""

    lab: np.ndarray
    source: str

    def moments(self) -> Moments:
        return ab_moments(self.lab[:, 1:])

    def code(self) -> list[float]:
        from geocolor.models.style import lab_pixels_code

        return lab_pixels_code(self.lab)


def subsample(lab: np.ndarray, limit: int = MAX_SAMPLE, seed: int = 0) -> np.ndarray:
    """At most ``limit`` rows of ``lab`` (M, 3), chosen reproducibly."""
    if len(lab) <= limit:
        return lab
    idx = np.random.default_rng(seed).choice(len(lab), size=limit, replace=False)
    return lab[np.sort(idx)]


def pool_samples(samples: list[ColorSample], source: str = "pooled") -> ColorSample:
    """One sample standing for all of ``samples`` (equal share each, whatever their sizes)."""
    share = MAX_SAMPLE // max(1, len(samples))
    return ColorSample(np.concatenate([subsample(s.lab, share) for s in samples]), source)


def read_reference(path: PathLike, bands: tuple[int, int, int] | None = None, max_side: int = 1024) -> ColorSample:
    """The colour sample of a reference raster (see module docstring); ``InputError`` if it is not colour."""
    import rasterio

    from geocolor.color import rgb_to_lab
    from geocolor.raster import decimated_shape, image_bands, open_raster

    with open_raster(str(path)) as ds:
        if bands is None:
            colour = image_bands(ds)
            if len(colour) < 3:
                raise InputError(f"style reference {Path(path).name} has {len(colour)} colour band(s); it must be a colour (RGB) image")
            bands = (colour[0], colour[1], colour[2])
        if any(np.dtype(ds.dtypes[b - 1]) != np.uint8 for b in bands):
            raise InputError(f"style reference {Path(path).name} must be 8-bit RGB, got {ds.dtypes[bands[0] - 1]}")
        shape = decimated_shape(ds, max_side)
        rgb = ds.read(list(bands), out_shape=(3, *shape), resampling=rasterio.enums.Resampling.average)
        mask = ds.dataset_mask(out_shape=shape)
    px = rgb.reshape(3, -1).T
    valid = (mask.reshape(-1) > 0) & (px.max(axis=1) > 0)
    if not valid.any():
        raise InputError(f"style reference {Path(path).name} holds no valid pixels")
    lab = rgb_to_lab(px[valid].astype(np.float32) / 255.0)
    return ColorSample(subsample(lab.astype(np.float32)), str(path))
