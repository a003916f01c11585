"""Tone matching: let the network see every sheet with the same tonal range.

Historical frames of one area were printed and scanned differently: one is darker, flatter or more
contrasty than its neighbour. A colorization network reads colour from tone and texture, so the same
field printed darker comes out another colour. Before predicting chroma for a styled input, its L*
is moved onto the target's distribution of L* by quantile matching (a monotone curve, the same for
every tile, so no seams). Only the network's *input* changes: the output keeps the photo's own L*,
so tone matching changes colours, never the brightness a user sees.

Pure functions on 1-D arrays: ``quantiles`` summarises a set of L* values, ``tone_curve`` gives the
curve (a lookup table over L* 0..100) that carries one set of quantiles onto another, and
``apply_curve`` applies it (numpy or torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, overload

import numpy as np

if TYPE_CHECKING:
    import torch

N_QUANTILES = 101  # percentiles 0..100
CURVE_KNOTS = 1001  # the curve is tabulated every 0.1 L*
MAX_SLOPE = 4.0  # no stretch of tone steeper than this (a flat histogram would amplify noise)


def quantiles(lightness: np.ndarray) -> np.ndarray:
    """The percentiles 0..100 (``N_QUANTILES``,) of the finite values in ``lightness`` (L*, 0..100)."""
    values = np.asarray(lightness, dtype=np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    if not len(values):
        raise ValueError("no lightness values to measure a tone on")
    return np.quantile(values, np.linspace(0.0, 1.0, N_QUANTILES))


def pool_quantiles(parts: list[np.ndarray]) -> np.ndarray:
    """Quantiles of equal shares of several L* samples (each sample counts the same)."""
    return quantiles(np.concatenate([np.interp(np.linspace(0, 1, 4096), np.linspace(0, 1, len(q)), q) for q in parts]))


def tone_curve(src: np.ndarray, dst: np.ndarray, max_slope: float = MAX_SLOPE) -> np.ndarray:
    """The monotone curve (``CURVE_KNOTS``,) on L* = 0, 0.1, ..., 100 that moves quantiles ``src`` onto ``dst``.

    Outside ``src``'s range the curve continues with slope 1; its slope is kept within
    [1 / max_slope, max_slope] so a narrow source range is not stretched into noise.
    """
    s = np.maximum.accumulate(np.asarray(src, dtype=np.float64))
    d = np.maximum.accumulate(np.asarray(dst, dtype=np.float64))
    s = s + np.arange(len(s)) * 1e-6  # strictly increasing knots for interpolation
    x = np.linspace(0.0, 100.0, CURVE_KNOTS)
    y = np.interp(x, s, d)
    y = np.where(x < s[0], d[0] + (x - s[0]), y)
    y = np.where(x > s[-1], d[-1] + (x - s[-1]), y)
    steps = np.clip(np.diff(y), (x[1] - x[0]) / max_slope, (x[1] - x[0]) * max_slope)
    y = np.concatenate([[0.0], np.cumsum(steps)])
    # keep the curve where quantile matching put its middle, then clip to the L* range
    y += float(np.interp(np.median(s), x, np.interp(x, s, d)) - np.interp(np.median(s), x, y))
    return np.clip(y, 0.0, 100.0).astype(np.float32)


@overload
def apply_curve(lightness: np.ndarray, curve: np.ndarray) -> np.ndarray: ...


@overload
def apply_curve(lightness: torch.Tensor, curve: np.ndarray) -> torch.Tensor: ...


def apply_curve(lightness: np.ndarray | torch.Tensor, curve: np.ndarray) -> np.ndarray | torch.Tensor:
    """``lightness`` (numpy array or torch tensor, L* 0..100) through ``curve``, same type and shape."""
    if isinstance(lightness, np.ndarray):
        return np.interp(lightness, np.linspace(0.0, 100.0, len(curve)), curve).astype(lightness.dtype)
    import torch

    table = torch.as_tensor(curve, dtype=lightness.dtype, device=lightness.device)
    pos = lightness.clamp(0.0, 100.0) * ((len(curve) - 1) / 100.0)
    lo = pos.floor().long().clamp(max=len(curve) - 2)
    frac = pos - lo.to(pos.dtype)
    return table[lo] * (1 - frac) + table[lo + 1] * frac


def curve_summary(curve: np.ndarray) -> str:
    """L* 25 / 50 / 75 -> where the curve sends them, for the log."""
    x = np.linspace(0.0, 100.0, len(curve))
    return ", ".join(f"{v:g}->{np.interp(v, x, curve):.1f}" for v in (25, 50, 75))
