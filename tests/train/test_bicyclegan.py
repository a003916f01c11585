"""BicycleGAN: z positions, encoders, KL, the latent regression leaving E alone, overfitting, training, resume, mosaic."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import torch
import yaml

from geocolor.errors import ConfigError
from geocolor.models import load
from geocolor.models.zgenerators import ZUnetGenerator
from geocolor.train.bicyclegan import BicycleGAN, kl_to_prior
from geocolor.train.config import config_from_dict, load_config
from geocolor.train.trainer import train
from tests.train.test_cut import one_thread  # noqa: F401  (autouse: tiny networks run on one thread)
from tests.train.test_trainer import tiny_config
from tests.train.test_zoo_training import assert_mosaic_keeps_lightness, fixed_batch

CPU = torch.device("cpu")


def bicycle_cfg(z_position: str = "input", model=None, options=None, batch_size: int = 2, loss=None):
    return config_from_dict({
        "data": {"tile": 128, "batch_size": batch_size, "sources": [{"path": "unused.tif"}]},
        "model": {"model": "bicyclegan", "generator": "unet_128", "ngf": 4, "ndf": 4, "norm": "instance",
                  "dropout": False, **(model or {}), "options": {"nz": 4, "z_position": z_position, **(options or {})}},
        "loss": {"gan_mode": "lsgan", "lambda_l1": 10, **(loss or {})},
        "optim": {"policy": "constant", "lr": 2e-3},
    })


def test_kl_to_the_prior():
    zero = torch.zeros(2, 8)
    assert kl_to_prior(zero, zero).item() == 0.0
    mu, logvar = torch.full((2, 8), 1.0), torch.full((2, 8), math.log(2.0))
    assert kl_to_prior(mu, logvar).item() == pytest.approx(8 * 0.5 * (2.0 + 1.0 - 1.0 - math.log(2.0)))


def test_config_refuses_what_bicyclegan_cannot_train():
    with pytest.raises(ConfigError, match="needs a U-Net generator"):
        bicycle_cfg(model={"generator": "resnet_9blocks"})
    with pytest.raises(ConfigError, match="batch_size >= 2"):
        bicycle_cfg(batch_size=1)
    with pytest.raises(ConfigError, match="unknown model.options.z_position 'end'"):
        bicycle_cfg("end")
    with pytest.raises(ConfigError, match="unknown model.options.encoder"):
        bicycle_cfg(options={"encoder": "vgg"})


@pytest.mark.parametrize("z_position", ["input", "all", "middle"])
def test_every_z_position_trains(z_position):
    torch.manual_seed(0)
    model = BicycleGAN(bicycle_cfg(z_position, options={"encoder": "conv" if z_position == "all" else "resnet"}), CPU)
    inp, target = fixed_batch()
    before = [p.detach().clone() for p in model.G.parameters()]
    losses = model.train_step(inp, target)
    assert {"g_gan_vae", "g_gan_lr", "g_l1", "kl", "z_l1", "d_vae", "d_lr"} == set(losses)
    assert all(math.isfinite(v) for v in losses.values())
    assert all(not torch.equal(a, b) for a, b in zip(before, model.G.parameters()))
    assert model.arch["z_position"] == z_position and model.arch["nz"] == 4


def test_wgangp_penalty_covers_both_critics():
    torch.manual_seed(0)
    model = BicycleGAN(bicycle_cfg(model={"norm_d": "none"}, loss={"gan_mode": "wgangp"}), CPU)
    losses = model.train_step(*fixed_batch())
    assert losses["d_gp"] > 0 and all(math.isfinite(v) for v in losses.values())


def test_latent_regression_trains_g_but_not_e():
    inp, target = fixed_batch()
    after = {}
    for lambda_z in (0.5, 0.0):
        torch.manual_seed(0)
        model = BicycleGAN(bicycle_cfg(options={"lambda_z": lambda_z}), CPU)
        losses = model.train_step(inp, target)
        after[lambda_z] = (losses, [p.detach() for p in model.E.parameters()], [p.detach() for p in model.G.parameters()])
    (with_z, e_with, g_with), (without, e_without, g_without) = after[0.5], after[0.0]
    assert with_z["z_l1"] > 0 and "z_l1" not in without
    assert all(torch.equal(a, b) for a, b in zip(e_with, e_without))  # E moved only by L1, GAN and KL
    assert any(not torch.equal(a, b) for a, b in zip(g_with, g_without))  # G moved by the regression too


def test_bicyclegan_overfits_one_batch():
    torch.manual_seed(0)
    model = BicycleGAN(bicycle_cfg(model={"ngf": 8}), CPU)
    inp, target = fixed_batch()
    l1 = [model.train_step(inp, target)["g_l1"] for _ in range(40)]
    assert np.mean(l1[-5:]) < 0.3 * l1[0], [round(v, 3) for v in l1[::5]]


def test_bicyclegan_run_exports_a_model_mosaic_uses_and_resumes_exactly(tmp_path, gray_uint8_twd97):
    path = tiny_config(tmp_path)
    tree = yaml.safe_load(path.read_text())
    tree["model"].update({"model": "bicyclegan", "norm": "instance", "dropout": False, "options": {"nz": 4, "z_position": "middle"}})
    tree["loss"] = {"gan_mode": "lsgan", "lambda_l1": 10}
    path.write_text(yaml.safe_dump(tree))
    run = train(load_config(path, ["steps=2"]), show_progress=False)
    with (run / "losses.csv").open() as f:
        assert {"g_l1", "kl", "z_l1", "d_vae", "d_lr"} <= set(next(csv.DictReader(f)))
    translator = load(run / "best.pt", device="cpu")
    assert isinstance(translator.net, ZUnetGenerator)
    assert translator.metadata["architecture"]["z_position"] == "middle" and translator.metadata["architecture"]["nz"] == 4
    assert translator.metadata["training"]["model"] == "bicyclegan" and translator.metadata["training"]["lambda_z"] == 0.5
    assert_mosaic_keeps_lightness(gray_uint8_twd97, run / "best.pt", tmp_path / "bicyclegan.tif")
    train(load_config(path, ["steps=3"]), resume=True, show_progress=False)
    resumed = torch.load(run / "checkpoint.pt", weights_only=True)["model"]
    straight = train(load_config(path, ["steps=3", "name=straight"]), show_progress=False)
    expected = torch.load(straight / "checkpoint.pt", weights_only=True)["model"]
    for net in ("G", "E", "D_vae", "D_lr"):  # the drawn z and the reparameterisation noise come from the checkpointed RNG
        for key, value in expected[net].items():
            torch.testing.assert_close(resumed[net][key], value, rtol=0, atol=0)


def test_bicyclegan_losses_are_watched_and_plotted_as_adversarial_pairs():
    """The discriminator-win check and the G-vs-D loss panel know BicycleGAN's two discriminators."""
    from geocolor.train.reports import loss_panels
    losses = {"d_vae": 0.02, "d_lr": 0.6, "g_gan_vae": 5.0, "g_gan_lr": 1.0, "g_l1": 3.0}
    assert BicycleGAN.adversarial_balance(None, losses) == (0.02, 5.0)  # type: ignore[arg-type]
    panels = loss_panels(["step", "d_vae", "d_lr", "g_gan_vae", "g_gan_lr", "g_l1", "g_kl"])
    assert panels[0] == ("adversarial losses", ["d_vae", "d_lr", "g_gan_vae", "g_gan_lr"])
