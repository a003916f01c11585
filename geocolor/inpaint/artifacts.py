"""What a user sees in a bad fill besides its error: a checkerboard inside it, a visible edge around it.

Both are ratios against the image itself, so they need no ground truth and read the same on any
sensor or brightness. Images are (H, W) or (B, H, W) floats; ``hole`` is (H, W) bool.

- ``checkerboard_index``: how far the fill's high-passed mean at each pixel phase (row and column
  mod 4) stands out from its own spread, as a root-mean-square z-score: about 1 for real texture and
  smooth fills, 5-8 for the fine parity pattern a stride-2 transposed convolution paints into a flat
  fill, more for a deliberate checkerboard.
- ``border_continuity``: mean absolute step between 4-neighbours across the hole's edge (one pixel
  in the hole, one known), divided by the mean step between known 4-neighbours: about 1 when the fill
  continues the image, large when the hole shows as a frame.
"""

from __future__ import annotations

import numpy as np

CHECKERBOARD_MAX = 3.0
BORDER_CONTINUITY_MAX = 1.5


def _stack(image: np.ndarray) -> np.ndarray:
    return image[None].astype(np.float64) if image.ndim == 2 else image.astype(np.float64)


def checkerboard_index(image: np.ndarray, hole: np.ndarray, period: int = 4) -> float:
    """How strongly the fill repeats with the pixel phase (row and column mod ``period``); about 1 without pattern.

    The image is high-passed (minus a Gaussian blur of sigma 2), the hole's interior (3 px in from its
    edge) is split into ``period``^2 phase classes, and each class mean is compared with its standard
    error: the root mean square of these z-scores. Texture and smooth fills score about 1; a periodic
    pattern (the stride-2 transposed convolution's parity pattern) scores several times that. NaN
    when the hole's interior is too small.
    """
    from scipy import ndimage

    x = _stack(image)
    hp = x - ndimage.gaussian_filter(x, (0, 2.0, 2.0))
    inner = ndimage.binary_erosion(hole, iterations=3)
    rows, cols = np.indices(hole.shape)
    z = []
    for p in range(period):
        for q in range(period):
            v = hp[:, inner & (rows % period == p) & (cols % period == q)].ravel()
            if v.size < 8:
                return float("nan")
            z.append(v.mean() ** 2 / (v.var() / v.size + 1e-12))
    return float(np.sqrt(np.mean(z)))


def border_continuity(image: np.ndarray, hole: np.ndarray) -> float:
    """Mean step across the hole's edge over the image's own mean step between known neighbours."""
    x = _stack(image)
    steps, across, inside_known = [], [], []
    for axis in (1, 2):
        a = x.take(range(x.shape[axis] - 1), axis=axis)
        b = x.take(range(1, x.shape[axis]), axis=axis)
        d = np.abs(a - b).mean(axis=0)
        ha = hole.take(range(hole.shape[axis - 1] - 1), axis=axis - 1)
        hb = hole.take(range(1, hole.shape[axis - 1]), axis=axis - 1)
        steps.append(d)
        across.append(ha != hb)
        inside_known.append(~ha & ~hb)
    edge = np.concatenate([s[m] for s, m in zip(steps, across)])
    own = np.concatenate([s[m] for s, m in zip(steps, inside_known)])
    if edge.size == 0 or own.size == 0:
        return float("nan")
    return float(edge.mean() / max(own.mean(), 1e-6))
