"""CUT / FastCUT: PatchNCE math, encoder taps, identity NCE, flips, overfitting, training, resume, mosaic."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch
import yaml

from geocolor.errors import ConfigError
from geocolor.models import load
from geocolor.train.config import config_from_dict, load_config
from geocolor.train.cut import CUT, cut_settings
from geocolor.train.trainer import train
from tests.train.test_trainer import tiny_config
from tests.train.test_zoo_training import assert_mosaic_keeps_lightness

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks: one thread is faster, and far steadier on a shared machine, than several."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def cut_cfg(name: str = "cut", generator: str = "resnet_6blocks", tile: int = 64, model=None, loss=None):
    """A tiny cut / fastcut config; keys of ``model`` and ``loss`` that are CUT options go to model.options."""
    import dataclasses

    from geocolor.train.cut import CUTOptions

    own = {f.name for f in dataclasses.fields(CUTOptions)}
    extra = {**(model or {}), **(loss or {})}
    options = {"nce_mlp_dim": 32, "num_patches": 64, **{k: v for k, v in extra.items() if k in own}}
    tree = {
        "data": {"tile": tile, "batch_size": 2, "sources": [{"path": "unused.tif"}]},
        "model": {"model": name, "generator": generator, "ngf": 4, "ndf": 4, "norm": "instance", "dropout": False,
                  "color_space": "rgb", **{k: v for k, v in (model or {}).items() if k not in own}, "options": options},
        "loss": {"gan_mode": "lsgan", **{k: v for k, v in (loss or {}).items() if k not in own}},
        "optim": {"policy": "constant", "lr": 2e-3},
    }
    return config_from_dict(tree)


def cut_settings_of(cfg):
    return cut_settings(cfg, CUT.parse_options(cfg))


def rgb_batch(size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """A gray batch (3 equal channels) and an unrelated colour batch, both smooth and in [-1, 1]."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    gray = torch.stack([torch.sin(4 * xx + yy), torch.cos(3 * yy - 2 * xx)])[:, None].expand(-1, 3, -1, -1)
    colour = torch.stack([torch.stack([0.6 * torch.sin(2 * yy), 0.5 * torch.cos(3 * xx), 0.4 * xx * yy]),
                          torch.stack([0.3 * xx, -0.5 * yy, 0.6 * torch.sin(xx + yy)])])
    return gray.contiguous(), colour


def test_cut_and_fastcut_defaults_and_config_errors():
    cut, fast = cut_settings_of(cut_cfg("cut")), cut_settings_of(cut_cfg("fastcut", generator="resnet_9blocks"))
    assert (cut["lambda_nce"], cut["nce_idt"], cut["flip_equivariance"]) == (1.0, True, False)
    assert (fast["lambda_nce"], fast["nce_idt"], fast["flip_equivariance"]) == (10.0, False, True)
    assert fast["nce_layers"] == [0, 4, 8, 12, 16] and cut["nce_layers"] == [0, 4, 8, 12, 15]
    assert cut_settings_of(cut_cfg("cut", generator="unet_128", tile=128))["nce_layers"] == [0, 1, 2, 3, 4]
    assert cut_settings_of(cut_cfg("fastcut", loss={"nce_idt": True, "lambda_nce": 2}))["nce_idt"] is True
    with pytest.raises(ConfigError, match="set model.color_space: rgb"):
        cut_cfg("cut", model={"color_space": "lab"})
    with pytest.raises(ConfigError, match=r"nce_layers \[0, 4, 8, 12, 16\] must be distinct numbers from 0 to 7 for unet_128"):
        cut_cfg("cut", generator="unet_128", tile=128, model={"nce_layers": [0, 4, 8, 12, 16]})
    with pytest.raises(ConfigError, match="distinct"):
        cut_cfg("fastcut", model={"nce_layers": [4, 4]})
    with pytest.raises(ConfigError, match="nce_t > 0"):
        cut_cfg("fastcut", loss={"nce_t": 0})


def test_identity_nce_runs_for_cut_and_not_for_fastcut():
    gray, colour = rgb_batch()
    seen = {}
    for name in ("cut", "fastcut"):
        torch.manual_seed(0)
        model = CUT(cut_cfg(name, model={"flip_equivariance": False}), CPU)
        batches: list[int] = []
        model.G.register_forward_hook(lambda _m, args, _out, seen_by=batches: seen_by.append(args[0].shape[0]))
        seen[name] = (model.train_step(gray, colour), batches[0])
    cut_losses, cut_batch = seen["cut"]
    fast_losses, fast_batch = seen["fastcut"]
    assert "g_nce_idt" in cut_losses and cut_batch == 4  # the colour batch goes through G too
    assert "g_nce_idt" not in fast_losses and fast_batch == 2
    assert all(math.isfinite(v) for v in {**cut_losses, **fast_losses}.values())


def test_flip_equivariance_flips_the_output_features_back():
    """The output of a flipped input is compared after flipping its features back into place."""
    model = CUT(cut_cfg("fastcut", model={"nce_layers": [0]}), CPU)  # layer 0: the padded image itself
    gray, _ = rgb_batch()
    out = gray  # a perfect output at layer 0: the input itself
    torch.manual_seed(3)
    plain = model.nce(gray, out, flipped=False).item()
    torch.manual_seed(3)
    flipped_back = model.nce(gray, torch.flip(out, [3]), flipped=True).item()  # an equivariant G's output for the flipped input
    torch.manual_seed(3)
    unaligned = model.nce(gray, torch.flip(out, [3]), flipped=False).item()
    assert flipped_back == pytest.approx(plain, rel=1e-5) and unaligned > plain + 0.05, (plain, flipped_back, unaligned)


@pytest.mark.parametrize("name", ["cut", "fastcut"])
def test_patch_nce_falls_on_a_fixed_batch(name):
    torch.manual_seed(0)
    model = CUT(cut_cfg(name), CPU)
    gray, colour = rgb_batch()
    nce = [model.train_step(gray, colour)["g_nce"] for _ in range(30)]
    assert np.mean(nce[-3:]) < 0.6 * nce[0], [round(v, 3) for v in nce[::5]]


def cut_tiny_config(tmp_path, model: str):
    path = tiny_config(tmp_path)
    tree = yaml.safe_load(path.read_text())
    tree["model"].update({"model": model, "norm": "instance", "color_space": "rgb", "options": {"nce_mlp_dim": 32}})
    tree["loss"] = {"gan_mode": "lsgan", "num_patches": 64}
    path.write_text(yaml.safe_dump(tree))
    return path


def test_fastcut_run_exports_a_model_mosaic_uses_and_resumes_exactly(tmp_path, gray_uint8_twd97):
    path = cut_tiny_config(tmp_path, "fastcut")
    run = train(load_config(path, ["steps=2"]), show_progress=False)
    with (run / "losses.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert all(math.isfinite(float(r["g_nce"])) for r in rows) and "g_nce_idt" not in rows[0]
    translator = load(run / "best.pt", device="cpu")
    training = translator.metadata["training"]
    assert training["model"] == "fastcut" and training["lambda_nce"] == 10.0 and training["nce_layers"] == [0, 1, 2, 3, 4]
    assert_mosaic_keeps_lightness(gray_uint8_twd97, run / "best.pt", tmp_path / "fastcut.tif")
    train(load_config(path, ["steps=3"]), resume=True, show_progress=False)
    resumed = torch.load(run / "checkpoint.pt", weights_only=True)["model"]
    straight = train(load_config(path, ["steps=3", "name=straight"]), show_progress=False)
    expected = torch.load(straight / "checkpoint.pt", weights_only=True)["model"]
    for net in ("G", "F", "D"):  # patch positions and flips come from the checkpointed RNG
        for key, value in expected[net].items():
            torch.testing.assert_close(resumed[net][key], value, rtol=0, atol=0)


def test_wgangp_critic_gets_its_penalty():
    torch.manual_seed(0)
    model = CUT(cut_cfg("fastcut", model={"norm_d": "none"}, loss={"gan_mode": "wgangp"}), CPU)
    losses = model.train_step(*rgb_batch())
    assert losses["d_gp"] > 0 and all(math.isfinite(v) for v in losses.values())
