"""Colour -> gray conversions that make the model's gray input from a colour chip.

- ``lstar`` (default): the CIE L* of the colour, written as the sRGB gray with that L*. Training in
  Lab takes L* from the gray input, so input and target agree exactly (``geocolor.color``).
- ``bt601``: ITU-R BT.601 luma, 0.299 R' + 0.587 G' + 0.114 B' on gamma-encoded values (what Pillow's
  ``convert("L")`` does, as in the study this project follows).
- ``band:N``: one colour band (1 red, 2 green, 3 blue), as in single-band recipes.
- ``film``: a panchromatic-film response: a weighted sum in linear light with weights that lift reds
  and darken blues, as aerial panchromatic film behind a minus-blue (haze) filter does. Weights sum
  to one so a neutral gray stays the same gray. The weights are an approximation, not a measured
  film curve; ``weights:R,G,B`` gives your own.

Converters are plain functions in ``GRAY_CONVERSIONS``; ``gray_converter(spec)`` resolves a spec.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from geocolor import color
from geocolor.errors import ConfigError

GrayConverter = Callable[[np.ndarray], np.ndarray]

# Filtered panchromatic aerial film (minus-blue filter): approximate linear-light band weights.
PANCHROMATIC_FILM_WEIGHTS = (0.45, 0.50, 0.05)


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def lstar_gray(rgb: np.ndarray) -> np.ndarray:
    """H x W x 3 uint8 -> H x W uint8 gray with the L* of each pixel."""
    lightness = color.rgb_to_lab(rgb.astype(np.float64) / 255.0)[..., 0]
    return _to_uint8(color.lightness_to_gray(lightness))


def bt601_gray(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma on gamma-encoded values."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    return _to_uint8((0.299 * r + 0.587 * g + 0.114 * b) / 255.0)


def linear_weighted_gray(weights: tuple[float, float, float]) -> GrayConverter:
    """A converter that sums linear-light bands with ``weights`` (normalised to sum 1)."""
    total = float(sum(weights))
    if total <= 0 or min(weights) < 0:
        raise ConfigError(f"gray weights must be non-negative and not all zero, got {weights}")
    w = tuple(v / total for v in weights)

    def convert(rgb: np.ndarray) -> np.ndarray:
        linear = color.srgb_to_linear(rgb.astype(np.float64) / 255.0)
        return _to_uint8(color.linear_to_srgb(linear @ np.asarray(w)))

    return convert


def band_gray(band: int) -> GrayConverter:
    if band not in (1, 2, 3):
        raise ConfigError(f"gray band:N takes N = 1 (red), 2 (green) or 3 (blue), got {band}")
    return lambda rgb: np.ascontiguousarray(rgb[..., band - 1])


GRAY_CONVERSIONS: dict[str, GrayConverter] = {
    "lstar": lstar_gray,
    "bt601": bt601_gray,
    "film": linear_weighted_gray(PANCHROMATIC_FILM_WEIGHTS),
}


def gray_converter(spec: str) -> GrayConverter:
    """Resolve ``lstar``, ``bt601``, ``film``, ``band:N`` or ``weights:R,G,B``."""
    if spec in GRAY_CONVERSIONS:
        return GRAY_CONVERSIONS[spec]
    kind, _, arg = spec.partition(":")
    try:
        if kind == "band":
            return band_gray(int(arg))
        if kind == "weights":
            parts = tuple(float(v) for v in arg.split(","))
            if len(parts) == 3:
                return linear_weighted_gray((parts[0], parts[1], parts[2]))
    except ValueError:
        pass
    raise ConfigError(f"gray conversion {spec!r} is unknown; use lstar, bt601, film, band:N or weights:R,G,B")
