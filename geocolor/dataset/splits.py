"""Spatial block splits: whole blocks of ground go to train, val or test, so neighbours cannot leak.

The area is cut into square blocks ``block_size`` metres wide in one *split CRS* (the first source's
projected CRS, a UTM zone for geographic sources, or the user's choice), anchored at the top-left of
all chip footprints. Blocks are shuffled with the seed and dealt to the split furthest below its target
share of (expected) chips, so every split with a non-zero fraction gets at least one block.

A chip belongs to a split only if every block its footprint touches belongs to that split (chips
straddling two splits are dropped). Held-out (val/test) chips must moreover keep ``gap`` metres from
any block of another split, so no held-out chip touches a training chip: the minimum distance between
train and held-out footprints is at least ``gap``. Blocks that chips touch but hold no (valid) chip
centre go to train; blocks no chip touches (outside the area) belong to no split and are ignored.

``min_box_distance`` measures that distance independently (from manifest bounds) for the leakage check.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from geocolor.dataset.config import SPLITS

Box = tuple[float, float, float, float]  # left, bottom, right, top
BlockKey = tuple[str, int, int]
_EPS = 1e-7


@dataclass
class BlockSplit:
    """The block grid (per namespace: one for the split CRS, one per non-georeferenced photo) and its assignment."""

    block_size: float
    gap: float
    origins: dict[str, tuple[float, float]]
    assignment: dict[BlockKey, str] = field(default_factory=dict)

    def blocks_of(self, ns: str, box: Box) -> list[BlockKey]:
        x0, y0 = self.origins[ns]
        s = self.block_size
        ix0 = math.floor((box[0] - x0) / s + _EPS)
        ix1 = math.floor((box[2] - x0) / s - _EPS)
        iy0 = math.floor((y0 - box[3]) / s + _EPS)
        iy1 = math.floor((y0 - box[1]) / s - _EPS)
        return [(ns, ix, iy) for ix in range(ix0, max(ix0, ix1) + 1) for iy in range(iy0, max(iy0, iy1) + 1)]

    def split_of(self, ns: str, box: Box) -> str | None:
        """The split of a chip footprint, or None when it straddles splits or sits too near another split."""
        splits = {self.assignment.get(k, "train") for k in self.blocks_of(ns, box)}
        if len(splits) != 1:
            return None
        split = splits.pop()
        if split != "train" and self.gap > 0:
            g = self.gap
            grown = (box[0] - g, box[1] - g, box[2] + g, box[3] + g)
            # Blocks no footprint touches hold no chip, so being near them is harmless.
            if any(self.assignment.get(k, split) != split for k in self.blocks_of(ns, grown)):
                return None
        return split


def plan_blocks(footprints: Iterable[tuple[str, Box, float]], block_size: float, gap: float,
                fractions: dict[str, float], seed: int) -> BlockSplit:
    """Assign blocks to splits. ``footprints`` are (namespace, box, weight): weight is the chip's expected keep (0..1)."""
    items = list(footprints)
    origins: dict[str, tuple[float, float]] = {}
    for ns, box, _ in items:
        x0, y0 = origins.get(ns, (math.inf, -math.inf))
        origins[ns] = (min(x0, box[0]), max(y0, box[3]))
    plan = BlockSplit(block_size, gap, origins)
    weights: dict[BlockKey, float] = {}
    for ns, box, w in items:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        key = plan.blocks_of(ns, (cx, cy, cx, cy))[0]
        weights[key] = weights.get(key, 0.0) + w
    keys = sorted(k for k, w in weights.items() if w > 0)
    order = np.random.default_rng(seed).permutation(len(keys))
    total = sum(weights[k] for k in keys)
    wanted = [s for s in SPLITS if fractions[s] > 0]
    got = dict.fromkeys(SPLITS, 0.0)
    blocks = dict.fromkeys(SPLITS, 0)
    for n, i in enumerate(order):
        key = keys[int(i)]
        unserved = [s for s in wanted if blocks[s] == 0]
        # Keep a block for every split still without one; otherwise feed the split furthest below its share.
        pool = unserved if len(order) - n <= len(unserved) else wanted
        best = max(pool, key=lambda s: fractions[s] * total - got[s])
        plan.assignment[key] = best
        got[best] += weights[key]
        blocks[best] += 1
    for ns, box, _ in items:  # blocks touched by chips but holding no chip centre (or only nodata) go to train
        for key in plan.blocks_of(ns, box):
            plan.assignment.setdefault(key, "train")
    return plan


def box_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance between axis-aligned boxes (rows left, bottom, right, top); 0 when they touch."""
    dx = np.maximum(0.0, np.maximum(a[..., 0] - b[..., 2], b[..., 0] - a[..., 2]))
    dy = np.maximum(0.0, np.maximum(a[..., 1] - b[..., 3], b[..., 1] - a[..., 3]))
    return np.hypot(dx, dy)


def min_box_distance(a: np.ndarray, b: np.ndarray, k: int = 32) -> float:
    """Smallest distance between any box of ``a`` and any box of ``b`` (inf if one is empty).

    Candidates come from the ``k`` nearest centres (Chebyshev) of each ``b`` box among ``a``; for
    chips of one size, whether two boxes touch is decided by that distance, so a zero is never missed.
    """
    from scipy.spatial import cKDTree

    a, b = np.asarray(a, dtype=np.float64).reshape(-1, 4), np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if not len(a) or not len(b):
        return math.inf
    if len(a) * len(b) <= 4_000_000:  # small enough for the exact all-pairs minimum
        chunks = np.array_split(np.arange(len(b)), max(1, len(b) // 512))
        return float(min(box_distance(a[:, None, :], b[None, c, :]).min() for c in chunks))
    def centres(boxes: np.ndarray) -> np.ndarray:
        return np.column_stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2])

    _, idx = cKDTree(centres(a)).query(centres(b), k=min(k, len(a)), p=np.inf)
    idx = np.asarray(idx).reshape(len(b), -1)
    return float(box_distance(a[idx], b[:, None, :]).min())
