"""Classical fill for thin damage: biharmonic interpolation (scikit-image) of scratches and dust.

On holes only a few pixels wide (a scratch, a speck of dust) the smooth biharmonic surface through
the surrounding pixels is hard to beat: on held-out aerial chips it scores ~3 dB better than a small
GAN (see ``pipelines/reports/inpaint/results.md``), while the GAN wins on wide holes. The engine and
the evaluation therefore split each hole set by depth (``geocolor.inpaint.engine.fillable``): thin
components here, the rest to the network.
"""

from __future__ import annotations

import numpy as np


def biharmonic_fill(bands: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Bands (B, H, W) float in [0, 1] with the ``hole`` pixels (H, W) bool replaced by a biharmonic fill.

    Each connected hole is solved on its own neighbourhood, so the cost follows the hole pixels, not
    the window. Pixels outside ``hole`` are returned unchanged.
    """
    from skimage.restoration import inpaint_biharmonic

    out = bands.astype(np.float64, copy=True)
    if not hole.any():
        return out.astype(bands.dtype)
    filled = inpaint_biharmonic(np.moveaxis(out, 0, -1), hole, split_into_regions=True, channel_axis=-1)
    out[:, hole] = np.clip(np.moveaxis(filled, -1, 0)[:, hole], 0.0, 1.0)
    return out.astype(bands.dtype)
