"""geocolor's FID, KID and IS against torchmetrics' own on the same features, and against hand-computed cases.

torchmetrics is given the same small seeded feature network through its ``feature=`` argument, so
both sides see identical features and only the statistics are compared. Skipped where torchmetrics
is not installed (``pip install geocolor[eval]``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geocolor.metrics.frechet import (
    frechet_distance,
    frechet_from_features,
    inception_score,
    kernel_inception_distance,
    mmd2_unbiased,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # torchmetrics: feature buffers, std of one split


class SeededFeatures(torch.nn.Module):
    """uint8 N x 3 x H x W -> 12 float64 features (a seeded conv, ReLU and global pooling)."""

    num_features = 12

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, self.num_features, 5, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return torch.relu(self.conv(x.float() / 255.0)).mean(dim=(2, 3)).double()


def _batch(n: int, shift: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 200, (n, 3, 32, 32)) + shift
    return torch.from_numpy(np.clip(x, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def sets() -> tuple[torch.Tensor, torch.Tensor]:
    return _batch(40, 0, 0), _batch(40, 40, 1)


def test_fid_matches_torchmetrics(sets):
    tm = pytest.importorskip("torchmetrics.image.fid")
    net = SeededFeatures()
    real, fake = sets
    metric = tm.FrechetInceptionDistance(feature=net)
    metric.update(real, real=True)
    metric.update(fake, real=False)
    theirs = float(metric.compute())
    ours = frechet_from_features(net(fake).numpy(), net(real).numpy())
    assert theirs > 0.01
    assert ours == pytest.approx(theirs, rel=1e-3)


def test_kid_matches_torchmetrics(sets):
    tm = pytest.importorskip("torchmetrics.image.kid")
    net = SeededFeatures()
    real, fake = sets
    metric = tm.KernelInceptionDistance(feature=net, subsets=1, subset_size=len(real))  # one subset: all features
    metric.update(real, real=True)
    metric.update(fake, real=False)
    theirs = float(metric.compute()[0])
    ours = kernel_inception_distance(net(fake).numpy(), net(real).numpy())[0]
    assert theirs > 0
    assert ours == pytest.approx(theirs, rel=1e-3)


def test_inception_score_matches_torchmetrics(sets):
    tm = pytest.importorskip("torchmetrics.image.inception")
    net = SeededFeatures()
    images = torch.cat(sets)
    metric = tm.InceptionScore(feature=net, splits=1)  # its features are logits; it applies the softmax
    metric.update(images)
    theirs = float(metric.compute()[0])
    probs = torch.softmax(net(images), dim=1).numpy()
    assert inception_score(probs)[0] == pytest.approx(theirs, rel=1e-3)


def test_frechet_rotated_gaussians_closed_form():
    # Covariances sharing eigenvectors (a random rotation): FID = |mu1-mu2|² + sum (sqrt(l1) - sqrt(l2))².
    q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(4, 4)))
    l1, l2 = np.array([1.0, 4.0, 9.0, 16.0]), np.array([4.0, 1.0, 1.0, 25.0])
    mu1, mu2 = np.array([1.0, 0.0, 2.0, 0.0]), np.array([0.0, 0.0, 0.0, 3.0])
    expected = 1 + 4 + 9 + (1 - 2) ** 2 + (2 - 1) ** 2 + (3 - 1) ** 2 + (4 - 5) ** 2
    assert frechet_distance(mu1, q @ np.diag(l1) @ q.T, mu2, q @ np.diag(l2) @ q.T) == pytest.approx(expected, rel=1e-9)


def test_fid_of_samples_converges_to_gaussian_formula():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, (20000, 2))
    b = rng.normal([3.0, 0.0], [2.0, 1.0], (20000, 2))
    assert frechet_from_features(a, b) == pytest.approx(9 + (2 - 1) ** 2, rel=0.03)
    assert frechet_from_features(a, a) == pytest.approx(0.0, abs=1e-9)


def test_kid_hand_computed():
    # 1-D features, k(x, y) = (x y + 1)³: k(0,1)=1, k(2,3)=343, k(0,2)=k(0,3)=1, k(1,2)=27, k(1,3)=64.
    a, b = np.array([[0.0], [1.0]]), np.array([[2.0], [3.0]])
    expected = (2 * 1) / 2 + (2 * 343) / 2 - 2 * (1 + 1 + 27 + 64) / 4
    assert mmd2_unbiased(a, b) == pytest.approx(expected)
    assert kernel_inception_distance(a, b) == (pytest.approx(expected), 0.0)


def test_kid_same_distribution_near_zero_shifted_positive():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(300, 8)), rng.normal(size=(300, 8))
    shifted = rng.normal(size=(300, 8)) + 1.0
    same, _ = kernel_inception_distance(a, b, subset_size=100, subsets=5)
    far, _ = kernel_inception_distance(a, shifted, subset_size=100, subsets=5)
    assert abs(same) < 0.1 * far and far > 0


def test_inception_score_of_confident_distinct_classes():
    probs = np.full((6, 3), 1e-9)
    probs[np.arange(6), np.arange(6) % 3] = 1.0  # each image sure of its class; classes equally used
    assert inception_score(probs)[0] == pytest.approx(3.0, rel=1e-6)
    assert inception_score(np.full((6, 3), 1 / 3))[0] == pytest.approx(1.0)
