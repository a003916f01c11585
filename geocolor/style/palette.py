"""Palette matching as pure functions on a*b* statistics.

A palette is summarised by the mean ``mu`` (2,) and covariance ``sigma`` (2, 2) of its a*b* values.
``matching_transform(src, dst)`` returns the affine map ``ab -> A @ ab + b`` that carries a Gaussian
with the source moments exactly onto one with the target moments, choosing among all such maps the
one that moves colours least (the linear Monge-Kantorovich map):

    A = S^-1/2 (S^1/2 T S^1/2)^1/2 S^-1/2,   b = mu_t - A mu_s      (S, T: source, target covariances)

It is symmetric positive definite, so it never mirrors hues. L* is never touched: geocolor keeps the
photo's own lightness, only chroma moves. ``max_gain`` bounds how much the map may stretch chroma (a
nearly gray prediction would otherwise have its noise amplified into colour).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = 1e-2  # a*b* units squared added to covariances: a flat palette still has a well-defined map


@dataclass(frozen=True)
class Moments:
    """Mean (2,) and covariance (2, 2) of a*b* over ``count`` pixels."""

    mean: np.ndarray
    cov: np.ndarray
    count: int

    def as_dict(self) -> dict[str, object]:
        return {"mean": [float(v) for v in self.mean], "cov": self.cov.round(4).tolist(), "count": int(self.count)}


def ab_moments(ab: np.ndarray, weight: np.ndarray | None = None) -> Moments:
    """Moments of a*b* values given as (..., 2); ``weight`` (...) > 0 selects/weights pixels."""
    px = np.asarray(ab, dtype=np.float64).reshape(-1, 2)
    w = np.ones(len(px)) if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1)
    keep = (w > 0) & np.isfinite(px).all(axis=1)
    px, w = px[keep], w[keep]
    if not len(px):
        raise ValueError("no valid pixels to measure a palette on")
    mean = (px * w[:, None]).sum(0) / w.sum()
    d = px - mean
    cov = (d * w[:, None]).T @ d / w.sum()
    return Moments(mean, cov, int(len(px)))


def pool_moments(parts: list[Moments]) -> Moments:
    """Moments of the union of several pixel sets (each weighted by its pixel count)."""
    if not parts:
        raise ValueError("nothing to pool")
    n = np.array([p.count for p in parts], dtype=np.float64)
    means = np.stack([p.mean for p in parts])
    mean = (means * n[:, None]).sum(0) / n.sum()
    cov = sum(k * (p.cov + np.outer(p.mean - mean, p.mean - mean)) for k, p in zip(n, parts)) / n.sum()
    return Moments(mean, np.asarray(cov), int(n.sum()))


def _sqrtm(m: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((m + m.T) / 2)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def matching_transform(src: Moments, dst: Moments, max_gain: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """(A (2, 2), b (2,)) mapping the ``src`` palette onto the ``dst`` palette (see module docstring)."""
    s = src.cov + EPS * np.eye(2)
    t = dst.cov + EPS * np.eye(2)
    s_half = _sqrtm(s)
    s_inv_half = np.linalg.inv(s_half)
    a = s_inv_half @ _sqrtm(s_half @ t @ s_half) @ s_inv_half
    vals, vecs = np.linalg.eigh((a + a.T) / 2)
    a = (vecs * np.clip(vals, 1.0 / max_gain, max_gain)) @ vecs.T
    return a, dst.mean - a @ src.mean


def apply_transform(ab: np.ndarray, a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Apply ``ab -> a @ ab + b`` to a*b* stored along ``axis`` (size 2); returns float32."""
    moved = np.moveaxis(np.asarray(ab, dtype=np.float32), axis, -1)
    out = moved @ a.T.astype(np.float32) + b.astype(np.float32)
    return np.moveaxis(out, -1, axis)


def apply_to_lab(lab: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Lab pixels (..., 3) with a*b* transformed and L* unchanged."""
    out = np.array(lab, dtype=np.float32, copy=True)
    out[..., 1:] = apply_transform(out[..., 1:], a, b)
    return out


def palette_distance(p: Moments, q: Moments) -> float:
    """2-Wasserstein distance between the Gaussian palettes ``p`` and ``q``, in a*b* units.

    ``sqrt(|mu_p - mu_q|^2 + tr(S_p + S_q - 2 (S_q^1/2 S_p S_q^1/2)^1/2))``: 0 for equal palettes; a pure
    tint shift of d units gives d.
    """
    q_half = _sqrtm(q.cov)
    cross = _sqrtm(q_half @ p.cov @ q_half)
    d2 = float(np.sum((p.mean - q.mean) ** 2) + np.trace(p.cov + q.cov - 2 * cross))
    return float(np.sqrt(max(d2, 0.0)))
