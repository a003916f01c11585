"""The stylecolor model: trains a few steps, exports a style-conditioned model file, loads in mosaic;
the shipped stylecolor model moves its colours toward the style it is given."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import torch
import yaml
from click.testing import CliRunner

from geocolor.cli import cli
from geocolor.color import rgb_to_lab
from geocolor.errors import ConfigError
from geocolor.models import load
from geocolor.models.style import CODE_SCALE, STYLE_DIM
from geocolor.train.config import config_from_dict
from tests.conftest import shared

SHIPPED = __import__("geocolor.models", fromlist=["DEFAULT_MODEL"]).DEFAULT_MODEL.with_name("stylecolor.pt")


def tiny_tree(tmp_path) -> dict:
    return {
        "name": "tiny_style", "out_dir": str(tmp_path / "runs"), "steps": 3, "eval_every": 3, "log_every": 1, "seed": 1,
        "data": {"tile": 128, "batch_size": 2, "sources": [
            {"path": str(shared("neon/OSBS_029.tif")), "holdout": "right:0.35", "style": "florida"},
            {"path": str(shared("neon/SOAP_031.png")), "split": "train", "style": "california"},
        ]},
        "model": {"model": "stylecolor", "generator": "unet_128", "ngf": 8, "ndf": 8},
        "optim": {"policy": "constant"},
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stylecolor")
    cfg = tmp / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_tree(tmp)))
    r = CliRunner().invoke(cli, ["-q", "train", "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    return tmp / "runs" / "tiny_style"


def test_stylecolor_trains_and_exports_a_style_conditioned_model(trained):
    header = (trained / "losses.csv").read_text().splitlines()[0].split(",")
    assert {"g_l1", "g_gan", "g_style", "d_real", "d_fake"} <= set(header)
    assert (trained / "samples" / "step_000003.png").is_file() and (trained / "losses.png").is_file()
    tr = load(trained / "best.pt", device="cpu")
    style = tr.metadata["style"]
    assert tr.style_conditioned and style["dim"] == STYLE_DIM and len(style["default"]) == STYLE_DIM
    assert sorted(style["named"]) == sorted(style["named_lightness"]) == ["california", "florida"]
    assert tr.metadata["training"]["model"] == "stylecolor" and tr.metadata["architecture"]["style_dim"] == STYLE_DIM
    lum = torch.full((1, 1, 128, 128), 60.0)
    assert tr.predict_chroma(lum).shape == (1, 2, 128, 128)
    assert tr.predict_chroma(lum, style=style["named"]["florida"]).shape == (1, 2, 128, 128)


def test_stylecolor_model_in_mosaic_with_a_named_style(trained, gray_uint8_twd97, tmp_path):
    out = tmp_path / "styled.tif"
    r = CliRunner().invoke(cli, ["-q", "mosaic", str(gray_uint8_twd97), str(out), "--model", str(trained / "last.pt"), "--style", "california"])
    assert r.exit_code == 0, r.output
    with rasterio.open(gray_uint8_twd97) as src, rasterio.open(out) as ds:
        assert (ds.crs, ds.transform, ds.shape) == (src.crs, src.transform, src.shape)
        assert ds.tags()["GEOCOLOR_STYLE"].startswith("tone + style code + palette matching")  # named styles carry a tone


def test_stylecolor_refuses_rgb_and_bad_probabilities(tmp_path):
    from geocolor.train.stylecolor import StyleColor

    tree = tiny_tree(tmp_path)
    tree["model"]["color_space"] = "rgb"
    with pytest.raises(ConfigError, match="Lab"):
        StyleColor(config_from_dict(tree), torch.device("cpu"))
    tree["model"].update(color_space="lab", style_other_prob=1.5)
    with pytest.raises(ConfigError, match="style_other_prob"):
        StyleColor(config_from_dict(tree), torch.device("cpu"))


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped stylecolor model")
def test_shipped_stylecolor_follows_the_style_code():
    """Two named styles with different tints: each output is nearer its own style's mean a*b*."""
    tr = load(SHIPPED, device="cpu")
    named = tr.metadata["style"]["named"]
    means = {k: np.array(v[:2]) * CODE_SCALE for k, v in named.items()}
    names = sorted(means)
    s, t = max(((p, q) for p in names for q in names), key=lambda pq: np.linalg.norm(means[pq[0]] - means[pq[1]]))
    with rasterio.open(shared("naip/m_4709963_se_14_1_20150926.tif")) as ds:
        rgb = ds.read([1, 2, 3], window=((300, 556), (660, 916)))  # held-out part
    lum = rgb_to_lab(np.moveaxis(rgb, 0, -1).astype(np.float32) / 255)[..., 0]
    lum = torch.from_numpy(np.ascontiguousarray(lum))[None, None]
    out = {k: tr.predict_chroma(lum, style=named[k]).mean((0, 2, 3)).numpy() for k in (s, t)}
    for k, other in ((s, t), (t, s)):
        assert np.linalg.norm(out[k] - means[k]) < np.linalg.norm(out[other] - means[k]), (k, out, means[s], means[t])


def test_warm_start_from_a_plain_unet_model_file(tiny_model, tmp_path):
    """model.init_from: a stylecolor generator starts as the plain model (FiLM at zero: same output for any
    code); weights that do not fit, and models that cannot warm start, are one-line config errors."""
    from geocolor.train.pix2pix import Pix2Pix
    from geocolor.train.stylecolor import StyleColor

    tree = tiny_tree(tmp_path)
    tree["model"].update(generator="unet_256", ngf=4, init_from=str(tiny_model))
    tree["data"]["tile"] = 256
    from geocolor.models.io import read_model_file

    model = StyleColor(config_from_dict(tree), torch.device("cpu"))
    weights = read_model_file(tiny_model)["state_dict"]
    unet = model.G.unet.state_dict()
    assert sorted(unet) == sorted(weights) and all(torch.equal(unet[k], weights[k].to(unet[k].dtype)) for k in weights)
    model.G.eval()
    x = torch.rand(1, 1, 256, 256) * 2 - 1
    with torch.no_grad():
        a, b = model.G(x, torch.randn(1, STYLE_DIM)), model.G(x, torch.randn(1, STYLE_DIM))
        assert torch.equal(a, b) and torch.equal(a, model.G.unet(x))
    tree["model"].update(model="pix2pix", ngf=8)
    with pytest.raises(ConfigError, match=r"init_from: tiny.pt .*ngf 4.* does not fit"):
        Pix2Pix(config_from_dict(tree), torch.device("cpu"))
    tree["model"].update(model="cyclegan", color_space="rgb")
    with pytest.raises(ConfigError, match="warm start"):
        config_from_dict(tree)
    tree["model"].update(model="pix2pix", color_space="lab", init_from=str(tmp_path / "missing.pt"))
    with pytest.raises(ConfigError, match="missing.pt does not exist"):
        Pix2Pix(config_from_dict(tree), torch.device("cpu"))


def test_learned_named_style_codes_train_export_and_resume(tmp_path, gray_uint8_twd97):
    """style_named_prob: each named source's code is a trained parameter that starts at its statistics; the
    model file holds the learned codes (conditioning) beside the statistics (palette); a resumed run goes on
    from the checkpointed codes."""
    from geocolor.train.stylecolor import StyleColor

    tree = tiny_tree(tmp_path)
    tree["model"]["style_named_prob"] = 1.0
    tree["optim"]["lr"] = 0.01  # big steps: the codes visibly move in 3 steps
    cfg = tmp_path / "named.yaml"
    cfg.write_text(yaml.safe_dump(tree))
    r = CliRunner().invoke(cli, ["-q", "train", "--config", str(cfg)])
    assert r.exit_code == 0, r.output
    run = tmp_path / "runs" / "tiny_style"
    style = load(run / "last.pt", device="cpu").metadata["style"]
    assert sorted(style["named"]) == sorted(style["named_stats"]) == ["california", "florida"]
    moved = max(abs(a - b) for k in style["named"] for a, b in zip(style["named"][k], style["named_stats"][k]))
    assert 1e-4 < moved < 0.5, moved
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)["model"]
    model = StyleColor(config_from_dict(tree), torch.device("cpu"))
    model.load_state_dict(state)
    assert torch.equal(model.named_table, state["named_table"])
    out = tmp_path / "named.tif"
    r = CliRunner().invoke(cli, ["-q", "mosaic", str(gray_uint8_twd97), str(out), "--model", str(run / "last.pt"), "--style", "florida"])
    assert r.exit_code == 0, r.output
    tree["data"]["sources"] = [{k: v for k, v in src.items() if k != "style"} for src in tree["data"]["sources"]]
    with pytest.raises(ConfigError, match="style name"):
        StyleColor(config_from_dict(tree), torch.device("cpu"))


def test_l1_only_stylecolor_leaves_the_discriminator_alone(tmp_path):
    """loss.lambda_gan: 0 trains the generator on L1 + style alone: no adversarial loss, D unchanged."""
    from geocolor.train.stylecolor import StyleColor

    tree = tiny_tree(tmp_path)
    tree["loss"] = {"lambda_gan": 0}
    model = StyleColor(config_from_dict(tree), torch.device("cpu"))
    d_before = {k: v.clone() for k, v in model.D.state_dict().items()}
    g_before = {k: v.clone() for k, v in model.G.state_dict().items()}
    inp = torch.rand(2, 1, 128, 128) * 2 - 1
    target = (torch.rand(2, 2, 128, 128) - 0.5) * 0.3
    losses = model.train_step(inp, target)
    assert losses["g_gan"] == 0.0 and "d_real" not in losses and losses["g_l1"] > 0
    assert all(torch.equal(v, d_before[k]) for k, v in model.D.state_dict().items())
    assert any(not torch.equal(v, g_before[k]) for k, v in model.G.state_dict().items())
