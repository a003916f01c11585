"""Distribution distances on feature vectors: Fréchet distance (FID's formula) and Inception Score.

Both are pure functions of arrays, so they are tested with any feature network. FID fits a Gaussian
to each set of features and measures
``||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^½)``; with Inception-v3 pool features it is FID.
The Inception Score is ``exp(E_x KL(p(y|x) || p(y)))`` over class probabilities, averaged over splits.
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
