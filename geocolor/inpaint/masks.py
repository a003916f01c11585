"""Hole masks for training and evaluating inpainting: pure, seeded functions of (height, width, rng).

Every generator returns a boolean array (H, W) that is True where pixels are missing. The kinds model
what damages historical aerial mosaics:

- ``center``: the seed paper's centred square (``size`` pixels, or ``fraction`` of the short side);
- ``boxes``: a few axis-aligned rectangles at random places (frames or tiles that never arrived);
- ``strokes``: free-form brush strokes, random walks drawn with a round brush;
- ``scratches``: long thin (1-3 px), nearly straight lines across the film;
- ``dust``: many small round specks;
- ``nodata``: a straight-edged region cut off one side or corner (a scan collar or frame edge).

``make_mask(spec, h, w, rng)`` picks a kind from a ``MaskSpec`` (kind weights plus sizes), which is
what training configs name. All randomness comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from geocolor.errors import ConfigError

Rng = np.random.Generator


def center_box(h: int, w: int, rng: Rng | None = None, size: int | None = None, fraction: float = 0.25) -> np.ndarray:
    """A centred square hole of ``size`` pixels (default: ``fraction`` of the shorter side); ``rng`` is unused."""
    del rng
    side = size or max(1, round(min(h, w) * fraction))
    side = min(side, h, w)
    top, left = (h - side) // 2, (w - side) // 2
    mask = np.zeros((h, w), dtype=bool)
    mask[top : top + side, left : left + side] = True
    return mask


def random_boxes(h: int, w: int, rng: Rng, count: tuple[int, int] = (1, 3), size: tuple[int, int] = (16, 64)) -> np.ndarray:
    """``count`` (inclusive range) rectangles with sides in ``size`` (inclusive range), anywhere inside."""
    mask = np.zeros((h, w), dtype=bool)
    for _ in range(int(rng.integers(count[0], count[1] + 1))):
        bh = min(h, int(rng.integers(size[0], size[1] + 1)))
        bw = min(w, int(rng.integers(size[0], size[1] + 1)))
        top, left = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
        mask[top : top + bh, left : left + bw] = True
    return mask


def draw_polyline(mask: np.ndarray, points: np.ndarray, radius: float) -> np.ndarray:
    """Set every pixel within ``radius`` of the polyline through ``points`` (N, 2) as (row, col); in place."""
    h, w = mask.shape
    for (y0, x0), (y1, x1) in zip(points[:-1], points[1:]):
        r0, r1 = int(max(0, np.floor(min(y0, y1) - radius))), int(min(h, np.ceil(max(y0, y1) + radius) + 1))
        c0, c1 = int(max(0, np.floor(min(x0, x1) - radius))), int(min(w, np.ceil(max(x0, x1) + radius) + 1))
        if r1 <= r0 or c1 <= c0:
            continue
        yy, xx = np.mgrid[r0:r1, c0:c1].astype(np.float64)
        dy, dx = y1 - y0, x1 - x0
        length2 = dy * dy + dx * dx
        t = np.clip(((yy - y0) * dy + (xx - x0) * dx) / length2, 0.0, 1.0) if length2 > 0 else np.zeros_like(yy)
        dist2 = (yy - (y0 + t * dy)) ** 2 + (xx - (x0 + t * dx)) ** 2
        mask[r0:r1, c0:c1] |= dist2 <= radius * radius
    return mask


def strokes(h: int, w: int, rng: Rng, count: tuple[int, int] = (1, 4), width: tuple[float, float] = (4.0, 14.0),
            vertices: tuple[int, int] = (4, 10), step: float = 0.12) -> np.ndarray:
    """Free-form strokes: random walks of ``vertices`` segments (each ~``step`` of the size) with a round brush."""
    mask = np.zeros((h, w), dtype=bool)
    scale = step * max(h, w)
    for _ in range(int(rng.integers(count[0], count[1] + 1))):
        n = int(rng.integers(vertices[0], vertices[1] + 1))
        angle = rng.uniform(0, 2 * np.pi)
        pts = [np.array([rng.uniform(0, h), rng.uniform(0, w)])]
        for _ in range(n):
            angle += rng.uniform(-1.0, 1.0)
            nxt = pts[-1] + rng.uniform(0.5, 1.0) * scale * np.array([np.sin(angle), np.cos(angle)])
            pts.append(np.clip(nxt, 0, [h - 1, w - 1]))
        draw_polyline(mask, np.array(pts), rng.uniform(*width) / 2)
    return mask


def scratches(h: int, w: int, rng: Rng, count: tuple[int, int] = (1, 4), width: tuple[float, float] = (1.0, 3.0)) -> np.ndarray:
    """Long thin nearly straight lines (1-3 px) running across most of the image, with a slight bend."""
    mask = np.zeros((h, w), dtype=bool)
    for _ in range(int(rng.integers(count[0], count[1] + 1))):
        angle = rng.uniform(0, np.pi)
        centre = np.array([rng.uniform(0, h), rng.uniform(0, w)])
        half = rng.uniform(0.3, 0.7) * np.hypot(h, w)
        direction = np.array([np.sin(angle), np.cos(angle)])
        bend = rng.normal(0, 0.02 * max(h, w)) * np.array([direction[1], -direction[0]])
        pts = np.array([centre - half * direction, centre + bend, centre + half * direction])
        draw_polyline(mask, pts, rng.uniform(*width) / 2)
    return mask


def dust(h: int, w: int, rng: Rng, count: tuple[int, int] = (10, 60), radius: tuple[float, float] = (0.7, 3.5)) -> np.ndarray:
    """Round specks of ``radius`` (pixels) scattered uniformly."""
    mask = np.zeros((h, w), dtype=bool)
    n = int(rng.integers(count[0], count[1] + 1))
    ys, xs, rs = rng.uniform(0, h, n), rng.uniform(0, w, n), rng.uniform(*radius, n)
    for y, x, r in zip(ys, xs, rs):
        draw_polyline(mask, np.array([[y, x], [y, x]]), r)
    return mask


def nodata_region(h: int, w: int, rng: Rng, depth: tuple[float, float] = (0.05, 0.3)) -> np.ndarray:
    """A straight-edged region off one side or corner: the half-plane beyond a line ``depth`` into the image.

    The line cuts in ``depth`` (fraction of the size) from a random side, tilted up to about 30
    degrees, so the region is a band along a side or a triangle/trapezoid at a corner.
    """
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    side = int(rng.integers(4))
    d = rng.uniform(*depth)
    tilt = rng.uniform(-0.6, 0.6)
    u = (yy / h, xx / w)  # normalised coordinates
    along, across = (u[1], u[0]) if side in (0, 1) else (u[0], u[1])  # sides 0/1: top/bottom, 2/3: left/right
    edge = d + tilt * (along - 0.5)
    return across < edge if side in (0, 2) else across > 1 - edge


MaskFn = Callable[..., np.ndarray]
MASKS: dict[str, MaskFn] = {
    "center": center_box,
    "boxes": random_boxes,
    "strokes": strokes,
    "scratches": scratches,
    "dust": dust,
    "nodata": nodata_region,
}


@dataclass
class MaskSpec:
    """Which mask kinds to draw and how often (``kinds``: name -> weight), plus the centre box's size."""

    kinds: dict[str, float] = field(default_factory=lambda: {"center": 1.0})
    center_size: int | None = None  # pixels; None: center_fraction of the tile
    center_fraction: float = 0.25
    box_size: tuple[int, int] = (16, 64)

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(MASKS)
        if unknown:
            raise ConfigError(f"unknown mask kind(s) {', '.join(sorted(unknown))}; choose from {', '.join(MASKS)}")
        if not self.kinds or min(self.kinds.values()) < 0 or sum(self.kinds.values()) <= 0:
            raise ConfigError("mask kinds need at least one positive weight")


def make_mask(spec: MaskSpec, h: int, w: int, rng: Rng) -> np.ndarray:
    """One mask of a kind drawn by ``spec``'s weights; never empty (falls back to the centre box)."""
    names = list(spec.kinds)
    p = np.array([spec.kinds[n] for n in names], dtype=np.float64)
    kind = names[int(rng.choice(len(names), p=p / p.sum()))]
    if kind == "center":
        mask = center_box(h, w, size=spec.center_size, fraction=spec.center_fraction)
    elif kind == "boxes":
        mask = random_boxes(h, w, rng, size=spec.box_size)
    else:
        mask = MASKS[kind](h, w, rng)
    return mask if mask.any() else center_box(h, w, size=spec.center_size, fraction=spec.center_fraction)


def make_masks(spec: MaskSpec, n: int, h: int, w: int, seed: int) -> np.ndarray:
    """``n`` masks (n, H, W) bool from one seed: the same seed always gives the same masks."""
    rng = np.random.default_rng(seed)
    return np.stack([make_mask(spec, h, w, rng) for _ in range(n)])
