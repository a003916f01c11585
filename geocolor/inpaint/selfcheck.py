"""The per-hole self-check: fill each hole with the method that reconstructs its surroundings best.

A learned fill can be worse than the classical one on ground the network never saw, and a user sees
the bad holes, not the average. So, for every hole (8-connected component of the pixels to fill):

1. hide a *ring* of known pixels around it (as wide as the hole is deep, at least 4 px; known
   pixels only);
2. fill hole + ring with the network and with biharmonic interpolation;
3. score both on the hidden ring, where the truth is known (mean squared error ``e_net``, ``e_bih``);
4. fill the hole itself with the network, biharmonic, or a blend weighted by the two errors:
   ``w_net = e_bih^2 / (e_net^2 + e_bih^2)`` (``power`` 2: the better method dominates quickly; with
   ``power`` 1 it is the inverse-error weighting of two independent estimates), rounded to the pure
   method when one is clearly better (``w_net >= 1 - pure`` or ``<= pure``). Power 2 was chosen on
   the catalogue's val sources (``pipelines/reports/inpaint/results_val.md``).

The ring fill is a slightly harder version of the real task (the hole grows by the ring), so the
ring errors rank the two methods for that hole and that neighbourhood. Only hole pixels change.

All functions here are pure: images are float arrays (B, H, W) in [0, 1]; masks are (H, W) bool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

METHODS = ("auto", "network", "biharmonic")
RING = 8  # px of context that biharmonic treats as unknown around a hole (untrusted pixels there)
PURE = 0.2  # a blend weight this close to 0 or 1 becomes the pure method
POWER = 2.0  # the blend weighs the methods by their ring errors to this power
KINDS = ("network", "biharmonic", "blend", "thin")  # how a hole was filled (thin: scratches and dust, always biharmonic)

NetworkFill = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (B, H, W) image, (H, W) hole -> (B, H, W) filled


@dataclass
class Choice:
    """What the self-check chose for one hole."""

    pixels: int
    first: tuple[int, int]  # the hole's first pixel in raster order (row, col): where it is counted
    error_network: float  # mean squared error on the hidden ring
    error_biharmonic: float
    weight_network: float  # share of the network in the fill (0: biharmonic, 1: network)

    @property
    def method(self) -> str:
        if self.weight_network >= 1.0:
            return "network"
        if self.weight_network <= 0.0:
            return "biharmonic"
        return "blend"


@dataclass
class FillReport:
    """Holes and pixels filled by each method (``network``, ``biharmonic``, ``blend``)."""

    holes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    pixels: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    def add(self, method: str, pixels: int, holes: int = 1) -> None:
        self.holes[method] += holes
        self.pixels[method] += pixels

    def merge(self, other: FillReport) -> None:
        for k in self.holes:
            self.holes[k] += other.holes[k]
            self.pixels[k] += other.pixels[k]

    def summary(self) -> str:
        names = {"thin": "biharmonic (thin holes)", "blend": "a blend of both"}
        parts = [f"{n} by {names.get(k, k)}" for k, n in self.holes.items() if n]
        return "holes filled: " + (", ".join(parts) if parts else "none")


def network_weight(e_net: float, e_bih: float, pure: float = PURE, power: float = POWER) -> float:
    """The network's share of a hole's fill from the two ring errors (see module docstring)."""
    a, b = e_net**power, e_bih**power
    total = a + b
    if not np.isfinite(total) or total <= 0:
        return 1.0 if e_net <= e_bih else 0.0
    w = b / total
    if w >= 1.0 - pure:
        return 1.0
    if w <= pure:
        return 0.0
    return float(w)


def rings(fill: np.ndarray, unknown: np.ndarray, width: int = RING) -> tuple[np.ndarray, int, np.ndarray]:
    """(labels of the holes in ``fill``, their count, labels of each hole's ring of known pixels).

    A ring pixel is a known pixel (not ``unknown``) within ``w`` px (chessboard) of its hole, where
    ``w`` is ``width``, or with ``width <= 0`` the hole's own depth (the largest distance from one of
    its pixels to a known one, at least 4): a wide hole gets a wide ring, whose inner pixels are as far
    from the known image as the hole's. Where two holes' rings meet, the pixel belongs to the nearer hole.
    """
    from scipy import ndimage

    labels, n = ndimage.label(fill, structure=np.ones((3, 3), dtype=bool))
    if n == 0:
        return labels, 0, np.zeros_like(labels)
    if width > 0:
        widths = np.full(n + 1, width)
    else:
        depth = ndimage.distance_transform_cdt(fill, metric="chessboard")
        widths = np.concatenate([[0], np.maximum(4, np.asarray(ndimage.maximum(depth, labels, np.arange(1, n + 1))))])
    dist, idx = ndimage.distance_transform_cdt(labels == 0, metric="chessboard", return_indices=True)
    nearest = labels[idx[0], idx[1]]
    ring = np.where((dist > 0) & (dist <= widths[nearest]) & ~unknown, nearest, 0)
    return labels, n, ring


def _mse(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    if not where.any():
        return float("nan")
    return float(((a[:, where] - b[:, where]) ** 2).mean())


def self_checked_fill(
    image: np.ndarray, unknown: np.ndarray, fill: np.ndarray, network: NetworkFill, method: str = "auto",
    ring: int = 0, pure: float = PURE, power: float = POWER,
) -> tuple[np.ndarray, FillReport, list[Choice], np.ndarray]:
    """``image`` with the ``fill`` pixels filled by ``method`` (auto: per hole, see module docstring).

    Also returns the report, one ``Choice`` per hole and the holes' labels (hole k is ``labels == k``,
    ``choices[k - 1]`` its choice).

    ``unknown`` marks every pixel whose value must not be trusted (the holes, plus nodata that is not
    filled); ``fill`` is a subset of it. ``network(image, hole)`` returns the image with ``hole``
    filled by the network. Pixels outside ``fill`` are returned unchanged.
    """
    from geocolor.inpaint.classical import biharmonic_fill

    if method not in METHODS:
        raise ValueError(f"unknown inpainting method {method!r}; choose one of {', '.join(METHODS)}")
    out = image.astype(np.float32, copy=True)
    report = FillReport()
    if not fill.any():
        return out, report, [], np.zeros(fill.shape, dtype=np.int32)
    labels, n, ring_labels = rings(fill, unknown, ring)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    firsts = first_pixels(labels, n)
    if method != "auto":
        source = network(image, unknown) if method == "network" else biharmonic_fill(image, _bih_holes(fill, unknown))
        out[:, fill] = source[:, fill]
        nan = float("nan")
        choices = [Choice(int(sizes[k]), firsts[k - 1], nan, nan, 1.0 if method == "network" else 0.0) for k in range(1, n + 1)]
        for c in choices:
            report.add(c.method, c.pixels)
        return out, report, choices, labels
    hidden = ring_labels > 0
    net_ring = network(image, unknown | hidden)
    bih_ring = biharmonic_fill(image, _bih_holes(fill | hidden, unknown))
    net = network(image, unknown)
    bih = biharmonic_fill(image, _bih_holes(fill, unknown))
    choices = []
    for k in range(1, n + 1):
        r = ring_labels == k
        e_net, e_bih = _mse(net_ring, image, r), _mse(bih_ring, image, r)
        w = network_weight(e_net, e_bih, pure, power) if np.isfinite(e_net) and np.isfinite(e_bih) else 1.0
        hole = labels == k
        out[:, hole] = w * net[:, hole] + (1.0 - w) * bih[:, hole]
        choice = Choice(int(sizes[k]), firsts[k - 1], e_net, e_bih, w)
        choices.append(choice)
        report.add(choice.method, choice.pixels)
    return out, report, choices, labels


def first_pixels(labels: np.ndarray, n: int) -> list[tuple[int, int]]:
    """Each label's first pixel in raster order."""
    flat = labels.ravel()
    order = np.flatnonzero(flat)
    ids, first = np.unique(flat[order], return_index=True)
    where = dict(zip(ids.tolist(), order[first].tolist()))
    w = labels.shape[1]
    return [(where[k] // w, where[k] % w) for k in range(1, n + 1)]


def _bih_holes(fill: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """What biharmonic must treat as unknown: the pixels to fill plus untrusted pixels next to them."""
    from scipy import ndimage

    near = ndimage.binary_dilation(fill, structure=np.ones((3, 3), dtype=bool), iterations=RING + 1)
    return fill | (unknown & near)
