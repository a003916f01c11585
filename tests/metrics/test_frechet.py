"""Fréchet distance and Inception Score as pure functions, with a small seeded feature network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geocolor.metrics.features import FeatureExtractor, default_extractor, distribution_metrics, find_weights
from geocolor.metrics.frechet import frechet_distance, frechet_from_features, inception_score


def seeded_extractor(seed: int = 0) -> FeatureExtractor:
    """A random 2-layer conv net with global pooling: enough to tell image sets apart."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 5, stride=2), torch.nn.ReLU(), torch.nn.Conv2d(16, 8, 3),
                              torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()

    def features(images: list[np.ndarray]) -> np.ndarray:
        x = torch.from_numpy(np.stack(images).transpose(0, 3, 1, 2).astype(np.float32) / 255.0)
        with torch.no_grad():
            return net(x).numpy()

    return FeatureExtractor("seeded-test-net", features)


def images(n: int, shift: int = 0, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 200, (n, 24, 24, 3)).astype(np.int16)
    return list(np.clip(base + shift, 0, 255).astype(np.uint8))


def test_frechet_closed_form():
    # 1-D Gaussians: (mu1-mu2)² + (s1 - s2)²
    assert frechet_distance(np.array([1.0]), np.array([[4.0]]), np.array([3.0]), np.array([[1.0]])) == pytest.approx(4 + 1)


def test_fid_self_zero_shifted_positive():
    ext = seeded_extractor()
    ref = ext.features(images(40))
    assert frechet_from_features(ref, ref) == pytest.approx(0.0, abs=1e-6)
    shifted = ext.features(images(40, shift=50))
    other_draw = ext.features(images(40, seed=1))
    assert frechet_from_features(shifted, ref) > 10 * frechet_from_features(other_draw, ref) > 0


def test_inception_score_bounds():
    assert inception_score(np.full((10, 5), 0.2))[0] == pytest.approx(1.0)
    assert inception_score(np.eye(5))[0] == pytest.approx(5.0, rel=1e-6)


def test_distribution_metrics_with_injected_network():
    ref = images(12)
    out = distribution_metrics({"same": ref, "shifted": images(12, shift=60)}, ref, seeded_extractor())
    assert out["fid"]["status"] == "ok"
    assert out["fid"]["values"]["same"] == pytest.approx(0.0, abs=1e-6)
    assert out["fid"]["values"]["shifted"] > 0
    assert out["is"]["status"].startswith("skipped:")


def test_missing_weights_give_skipped(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOCOLOR_WEIGHTS_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert find_weights(["inception-2015-12-05.pt"], tmp_path) is None
    ext, why = default_extractor(tmp_path)
    assert ext is None and str(tmp_path) in why and "inception" in why.lower()
    out = distribution_metrics({"m": images(3)}, images(3), ext, why)
    assert out["fid"]["status"] == f"skipped: {why}" and out["fid"]["values"] == {}


def test_corrupt_weights_give_skipped(tmp_path):
    (tmp_path / "inception-2015-12-05.pt").write_bytes(b"not a torchscript file")
    ext, why = default_extractor(tmp_path)
    assert ext is None and "did not load" in why


def test_frechet_diagonal_closed_form():
    # Commuting (diagonal) covariances: ||mu1 - mu2||² + sum (sqrt(s1) - sqrt(s2))²
    s1, s2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = 1 + 4 + (1 - 2) ** 2 + 0 + (3 - 1) ** 2
    assert frechet_distance(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected)


class _FakeInception(torch.nn.Module):
    """Stands in for NVIDIA's TorchScript Inception: same call signature, tiny seeded layers."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 6, 3)
        self.fc = torch.nn.Linear(6, 4)

    def forward(self, x: torch.Tensor, return_features: bool = False, no_output_bias: bool = False) -> torch.Tensor:
        feats = torch.relu(self.conv(x.float() / 255.0)).mean(dim=(2, 3))
        if return_features:
            return feats
        return torch.softmax(self.fc(feats), dim=1)


def test_torchscript_weights_found_and_used(tmp_path, monkeypatch):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(_FakeInception()), str(tmp_path / "inception-2015-12-05.pt"))
        monkeypatch.setenv("GEOCOLOR_WEIGHTS_DIR", str(tmp_path))
        ext, why = default_extractor(None)
        assert ext is not None and why == ""
        ref = images(8)
        out = distribution_metrics({"same": ref, "shifted": images(8, shift=80)}, ref, ext)
    assert out["fid"]["status"] == out["is"]["status"] == "ok"
    assert out["fid"]["values"]["same"] == pytest.approx(0.0, abs=1e-6)
    assert out["fid"]["values"]["shifted"] > 0
    assert 1.0 <= out["is"]["values"]["same"] <= 4.0
