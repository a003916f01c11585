"""Where neighbouring sheets share ground: the part of each sheet on which its palette is measured.

When a batch of georeferenced sheets overlaps, matching each sheet's *whole* palette to a common one
is not what makes neighbours agree: the sheets show partly different ground. Measuring each sheet's
palette only where it overlaps its neighbours, and mapping that onto the common palette, makes the
shared ground come out alike in both, which is what a viewer sees at the seam. Pure functions on
bounding boxes ``(left, bottom, right, top)``.
"""

from __future__ import annotations

Box = tuple[float, float, float, float]


def intersection(a: Box, b: Box) -> Box | None:
    """The overlap of two boxes, or None when they only touch or are apart."""
    left, bottom = max(a[0], b[0]), max(a[1], b[1])
    right, top = min(a[2], b[2]), min(a[3], b[3])
    return (left, bottom, right, top) if right > left and top > bottom else None


def shared_boxes(boxes: list[Box], min_fraction: float = 0.05) -> list[Box | None]:
    """For each box, the bounding box of its overlaps with all the others (None: it overlaps none,
    or less than ``min_fraction`` of its area, too little to measure a palette on)."""
    out: list[Box | None] = []
    for i, box in enumerate(boxes):
        parts = [x for j, other in enumerate(boxes) if j != i and (x := intersection(box, other)) is not None]
        if not parts:
            out.append(None)
            continue
        shared = (min(p[0] for p in parts), min(p[1] for p in parts), max(p[2] for p in parts), max(p[3] for p in parts))
        area = (box[2] - box[0]) * (box[3] - box[1])
        out.append(shared if (shared[2] - shared[0]) * (shared[3] - shared[1]) >= min_fraction * area else None)
    return out
