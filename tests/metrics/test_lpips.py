"""LPIPS plumbing with weights the test makes offline: random AlexNet features and random linear heads.

The network and files are laid out as torchvision's ``alexnet-owt-7be5be79.pth`` and lpips' v0.1
``alex.pth`` are, so the real files load the same way; no real weights are needed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from geocolor.cli import cli
from geocolor.metrics.lpips import BACKBONES, build_features, load_lpips, lpips_pairs
from tests.conftest import shared, write_tif

NAIP = "naip/m_4709963_se_14_1_20090818.tif"


def write_lpips_weights(folder: Path, net: str = "alex", seed: int = 0) -> Path:
    """A random-init backbone saved as a whole torchvision state dict, and positive per-channel weights."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    feats = build_features(net)
    state = {f"features.{k}": v for k, v in feats.state_dict().items()}
    state["classifier.1.weight"] = torch.zeros(4, 4)  # a whole model's file also has a classifier; it is ignored
    torch.save(state, folder / BACKBONES[net].backbone_files[0])
    lins = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1) for i, c in enumerate(BACKBONES[net].channels)}
    torch.save(lins, folder / BACKBONES[net].linear_files[1])  # named as in the lpips package: alex.pth / vgg.pth
    return folder


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return write_lpips_weights(tmp_path_factory.mktemp("lpips_weights"))


def _images(seed: int, n: int = 3, size: int = 64) -> list[np.ndarray]:
    return list(np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8))


def test_identical_zero_different_positive_symmetric(weights):
    model, why = load_lpips(weights)
    assert model is not None and why == ""
    a, b = _images(0), _images(1)
    assert lpips_pairs(model, a, a) == pytest.approx([0.0] * 3, abs=1e-6)
    ab, ba = lpips_pairs(model, a, b), lpips_pairs(model, b, a)
    assert min(ab) > 1e-3
    assert ab == pytest.approx(ba, rel=1e-5)
    slight = [np.clip(x.astype(int) + 3, 0, 255).astype(np.uint8) for x in a]
    assert max(lpips_pairs(model, a, slight)) < min(ab)  # a small change is closer than a different image


def test_vgg_backbone(tmp_path):
    model, why = load_lpips(write_lpips_weights(tmp_path, "vgg"), net="vgg")
    assert model is not None, why
    a, b = _images(0, n=1, size=32), _images(1, n=1, size=32)
    assert lpips_pairs(model, a, a)[0] == pytest.approx(0.0, abs=1e-6)
    assert lpips_pairs(model, a, b)[0] == pytest.approx(lpips_pairs(model, b, a)[0], rel=1e-5) and lpips_pairs(model, a, b)[0] > 0


def test_weights_found_through_environment(weights, monkeypatch):
    monkeypatch.setenv("GEOCOLOR_WEIGHTS_DIR", str(weights))
    model, why = load_lpips(None)
    assert model is not None, why
    first = next(iter(model.lins))
    assert torch.equal(first, torch.load(weights / "alex.pth", weights_only=True)["lin0.model.1.weight"].reshape(-1))


def test_missing_weights_are_skipped_with_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOCOLOR_WEIGHTS_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    model, why = load_lpips(tmp_path)
    assert model is None
    assert "alexnet-owt-7be5be79.pth" in why and "lpips_alex.pth" in why and str(tmp_path) in why


def test_wrong_linear_file_is_skipped(tmp_path, weights):
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "alexnet-owt-7be5be79.pth").write_bytes((weights / "alexnet-owt-7be5be79.pth").read_bytes())
    torch.save({"lin0.model.1.weight": torch.rand(1, 64, 1, 1)}, folder / "lpips_alex.pth")
    model, why = load_lpips(folder)
    assert model is None and "did not load" in why and "lin0..lin4" in why


def test_cli_pair_reports_lpips_per_chip(weights, tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(shared(NAIP)) as src:
        rgb = src.read([1, 2, 3], window=((0, 128), (0, 256)))
    transform = from_origin(485900.0, 5209247.0, 5.0, 5.0)  # the NAIP file's own CRS and resolution
    truth = write_tif(tmp_path / "truth.tif", rgb, "EPSG:26914", transform)
    shifted = np.clip(rgb.astype(int) + np.array([30, 0, -30])[:, None, None], 0, 255).astype(np.uint8)
    output = write_tif(tmp_path / "out.tif", shifted, "EPSG:26914", transform)
    out = tmp_path / "rep"
    res = CliRunner().invoke(cli, ["evaluate", "--pair", str(output), str(truth), "--chip-size", "128",
                                   "--out", str(out), "--weights-dir", str(weights)])
    assert res.exit_code == 0, res.output
    fig = json.loads((out / "metrics.json").read_text())
    assert fig["distribution"]["lpips"]["status"] == "ok"
    chips = fig["methods"]["output"]["per_chip"]
    assert len(chips) == 2 and all(c["lpips"] > 0 for c in chips)
    assert fig["methods"]["output"]["summary"]["lpips"] == pytest.approx(fig["distribution"]["lpips"]["values"]["output"])
    page = (out / "report.html").read_text()
    assert "<th>lpips</th>" in page and "LPIPS</b>: ok" in page


def test_cli_pair_without_weights_says_skipped(tmp_path, monkeypatch):
    monkeypatch.delenv("GEOCOLOR_WEIGHTS_DIR", raising=False)
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(shared(NAIP)) as src:
        rgb = src.read([1, 2, 3], window=((0, 64), (0, 64)))
    tif = write_tif(tmp_path / "t.tif", rgb, "EPSG:26914", from_origin(485900.0, 5209247.0, 5.0, 5.0))
    out = tmp_path / "rep"
    res = CliRunner().invoke(cli, ["evaluate", "--pair", str(tif), str(tif), "--chip-size", "64", "--out", str(out),
                                   "--weights-dir", str(tmp_path / "none")])
    assert res.exit_code == 0, res.output
    fig = json.loads((out / "metrics.json").read_text())
    assert fig["distribution"]["lpips"]["status"].startswith("skipped: no LPIPS-alex weights")
    assert "lpips" not in fig["methods"]["output"]["summary"]
    assert "LPIPS</b>: skipped: no LPIPS-alex weights" in (out / "report.html").read_text()


class _Payload:
    """Any object in a weights file: unpickling it would run code, so weights_only refuses it."""


@pytest.mark.parametrize("damage", ["pickled_code", "truncated"])
def test_malicious_or_damaged_linear_weights_are_skipped_with_reason(tmp_path, weights, damage):
    import pickle

    folder = tmp_path / "w"
    folder.mkdir()
    (folder / "alexnet-owt-7be5be79.pth").write_bytes((weights / "alexnet-owt-7be5be79.pth").read_bytes())
    if damage == "pickled_code":
        torch.save({"lin0.model.1.weight": _Payload()}, folder / "lpips_alex.pth", pickle_protocol=pickle.HIGHEST_PROTOCOL)
    else:
        (folder / "lpips_alex.pth").write_bytes((weights / "alex.pth").read_bytes()[:200])
    model, why = load_lpips(folder)
    assert model is None and "did not load" in why and "\n" not in why
