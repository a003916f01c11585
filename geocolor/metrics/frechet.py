"""Distribution distances on feature vectors: Fréchet distance (FID's formula) and Inception Score.

Both are pure functions of arrays, so they are tested with any feature network. FID fits a Gaussian
to each set of features and measures
``||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^½)``; with Inception-v3 pool features it is FID.
The Inception Score is ``exp(E_x KL(p(y|x) || p(y)))`` over class probabilities, averaged over splits.
The Kernel Inception Distance (Bińkowski et al. 2018) is the unbiased squared MMD between the two
feature sets under the cubic polynomial kernel ``k(x, y) = (x·y / D + 1)³``; unlike FID it has no
bias on small sets, which suits the few dozen chips an area often gives.

These formulas are checked against torchmetrics' own on the same features (``tests/metrics``).
"""

from __future__ import annotations

import logging
import warnings

import numpy as np

log = logging.getLogger(__name__)


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean vector and covariance matrix (N - 1 normalised) of N x D features."""
    feats = np.asarray(features, dtype=np.float64)
    if feats.ndim != 2 or len(feats) < 2:
        raise ValueError(f"need at least 2 feature vectors as an N x D array, got shape {feats.shape}")
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6) -> float:
    """Fréchet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2)."""
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    diff = mu1 - mu2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        covmean = linalg.sqrtm(sigma1 @ sigma2)
    if caught or not np.isfinite(covmean).all():
        log.info("singular covariance product; adding %g to the diagonals", eps)
        offset = np.eye(len(sigma1)) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
    return max(value, 0.0)


def frechet_from_features(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between two sets of feature vectors (N x D and M x D)."""
    return frechet_distance(*feature_statistics(a), *feature_statistics(b))


def inception_score(probs: np.ndarray, splits: int = 1) -> tuple[float, float]:
    """Mean and std over ``splits`` of exp(E KL(p(y|x) || p(y))) for N x C class probabilities."""
    p = np.asarray(probs, dtype=np.float64)
    scores = []
    for part in np.array_split(p, max(1, min(splits, len(p)))):
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(marginal + 1e-12)), axis=1)
        scores.append(float(np.exp(kl.mean())))
    return float(np.mean(scores)), float(np.std(scores))


def _polynomial_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a @ b.T / a.shape[1] + 1.0) ** 3


def mmd2_unbiased(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased squared MMD of two feature sets (N x D, M x D) under the cubic polynomial kernel."""
    n, m = len(a), len(b)
    k_aa, k_bb, k_ab = _polynomial_kernel(a, a), _polynomial_kernel(b, b), _polynomial_kernel(a, b)
    within_a = (k_aa.sum() - np.trace(k_aa)) / (n * (n - 1))
    within_b = (k_bb.sum() - np.trace(k_bb)) / (m * (m - 1))
    return float(within_a + within_b - 2.0 * k_ab.mean())


def kernel_inception_distance(
    a: np.ndarray, b: np.ndarray, subsets: int = 10, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Mean and std of the unbiased MMD² over seeded random subsets; all features at once when both sets fit one."""
    fa, fb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if fa.ndim != 2 or fb.ndim != 2 or min(len(fa), len(fb)) < 2:
        raise ValueError(f"need at least 2 feature vectors per set, got shapes {fa.shape} and {fb.shape}")
    if max(len(fa), len(fb)) <= subset_size:
        return mmd2_unbiased(fa, fb), 0.0
    size = min(subset_size, len(fa), len(fb))
    rng = np.random.default_rng(seed)
    vals = [mmd2_unbiased(fa[rng.choice(len(fa), size, replace=False)], fb[rng.choice(len(fb), size, replace=False)])
            for _ in range(subsets)]
    return float(np.mean(vals)), float(np.std(vals))
