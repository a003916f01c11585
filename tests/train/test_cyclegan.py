"""CycleGAN: image pool, unpaired batches, the cycle loss, checkpoints, and a trained model in mosaic."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
import torch
import yaml

from geocolor.color import rgb_to_lab
from geocolor.errors import ConfigError
from geocolor.models import load
from geocolor.train.config import config_from_dict, load_config
from geocolor.train.cyclegan import CycleGAN, identity_weight
from geocolor.train.pool import ImagePool
from geocolor.train.trainer import Trainer, train
from tests.train.test_trainer import tiny_config
from tests.train.test_zoo_training import assert_mosaic_keeps_lightness, fixed_batch

CPU = torch.device("cpu")


def cycle_cfg(color_space: str = "lab", steps: int = 50, **options):
    return config_from_dict({
        "steps": steps,
        "data": {"tile": 128, "batch_size": 2, "sources": [{"path": "unused.tif"}]},
        "model": {"model": "cyclegan", "generator": "unet_128", "ngf": 8, "ndf": 8, "dropout": False,
                  "norm": "instance", "color_space": color_space, "options": {"pool_size": 4, **options}},
        "loss": {"gan_mode": "lsgan"},
        "optim": {"policy": "constant", "lr": 2e-3},
    })


def cyclegan_tiny_config(tmp_path, color_space: str = "lab"):
    path = tiny_config(tmp_path)
    tree = yaml.safe_load(path.read_text())
    tree["model"].update({"model": "cyclegan", "norm": "instance", "color_space": color_space, "options": {"pool_size": 4}})
    tree["loss"] = {"gan_mode": "lsgan"}
    path.write_text(yaml.safe_dump(tree))
    return path


def test_image_pool_fills_then_swaps_half_the_time():
    pool = ImagePool(size=4, generator=torch.Generator().manual_seed(0))
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first) and len(pool) == 4  # filling: returned as is
    swapped = 0
    for i in range(200):
        fresh = torch.full((1, 1, 1, 1), 100.0 + i)
        stored = {float(x) for x in pool.images}
        out = float(pool.query(fresh))
        assert out == 100.0 + i or out in stored  # a fresh fake or one from the history
        swapped += out != 100.0 + i
        assert len(pool) == 4 and (out == 100.0 + i or 100.0 + i in {float(x) for x in pool.images})
    assert 70 < swapped < 130  # about half (binomial, n=200, p=0.5: +-4 sigma)
    assert torch.equal(ImagePool(size=0).query(first), first)


def test_image_pool_state_round_trip():
    pool = ImagePool(size=3)
    pool.query(torch.rand(2, 1, 4, 4))
    again = ImagePool(size=3)
    again.load_state_dict(pool.state_dict())
    assert len(again) == 2 and all(torch.equal(a, b) for a, b in zip(pool.images, again.images))
    again.load_state_dict(ImagePool(size=3).state_dict())
    assert len(again) == 0


def test_identity_loss_follows_the_colour_space():
    def options(cfg):
        return CycleGAN.parse_options(cfg)

    assert identity_weight(options(cycle_cfg("rgb")), "rgb") == 0.5
    assert identity_weight(options(cycle_cfg("lab")), "lab") == 0.0
    assert identity_weight(options(cycle_cfg("rgb", lambda_identity=0.0)), "rgb") == 0.0
    with pytest.raises(ConfigError, match="model.color_space: rgb, or model.options.lambda_identity: 0"):
        cycle_cfg("lab", lambda_identity=0.5)
    with pytest.raises(ConfigError, match="unknown model.model 'cyclegun'"):
        config_from_dict({"data": {"sources": [{"path": "x"}]}, "model": {"model": "cyclegun"}})
    with pytest.raises(ConfigError, match=">= 0"):
        cycle_cfg(lambda_a=-1)


def test_cycle_loss_falls_on_a_fixed_batch():
    torch.manual_seed(0)
    model = CycleGAN(cycle_cfg("lab"), CPU)
    inp, target = fixed_batch()
    cycle = []
    for _ in range(50):
        losses = model.train_step(inp, target)
        cycle.append(losses["g_cycle_a"] + losses["g_cycle_b"])
    assert np.mean(cycle[-5:]) < 0.5 * cycle[0], cycle[::10]
    assert model.G is model.G_A and model.arch["in_channels"] == 1 and model.arch["out_channels"] == 2


def test_rgb_step_has_identity_and_wgangp_penalty():
    torch.manual_seed(0)
    cfg = config_from_dict({
        "data": {"tile": 128, "batch_size": 1, "sources": [{"path": "x"}]},
        "model": {"model": "cyclegan", "generator": "unet_128", "ngf": 4, "ndf": 4, "norm": "instance", "color_space": "rgb"},
        "loss": {"gan_mode": "wgangp"},
    })
    model = CycleGAN(cfg, CPU)
    losses = model.train_step(torch.rand(1, 3, 128, 128) * 2 - 1, torch.rand(1, 3, 128, 128) * 2 - 1)
    assert {"g_idt_a", "g_idt_b", "d_gp"} <= set(losses) and losses["d_gp"] > 0
    assert all(math.isfinite(v) for v in losses.values())


def test_checkpoint_restores_all_networks_optimisers_and_pools():
    torch.manual_seed(0)
    model = CycleGAN(cycle_cfg("lab"), CPU)
    inp, target = fixed_batch()
    for _ in range(2):
        model.train_step(inp, target)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    torch.manual_seed(1)
    again = CycleGAN(cycle_cfg("lab"), CPU)
    again.load_state_dict(torch.load(buf, weights_only=True))
    for name in ("G_A", "G_B", "D_A", "D_B"):
        for a, b in zip(getattr(model, name).state_dict().values(), getattr(again, name).state_dict().values()):
            assert torch.equal(a, b), name
    assert len(again.pool_A) == len(model.pool_A) == 4
    torch.manual_seed(5)
    step_a = model.train_step(inp, target)
    torch.manual_seed(5)
    step_b = again.train_step(inp, target)  # same optimiser moments and pools: the same next step
    assert step_a == step_b


def test_unpaired_batches_come_from_different_chips(tmp_path):
    cfg = load_config(cyclegan_tiny_config(tmp_path, "rgb"))
    trainer = Trainer(cfg, show_progress=False)
    inp, target = trainer._training_batch()
    target_gray = trainer.model.encoding.encode_input(rgb_to_lab((target + 1) / 2, axis=1)[:, :1])
    assert (inp - target_gray).abs().mean() > 0.05  # pix2pix pairs would agree to ~0


def test_cyclegan_run_logs_exports_mosaics_and_resumes(tmp_path, gray_uint8_twd97):
    path = cyclegan_tiny_config(tmp_path)
    run = train(load_config(path, ["steps=2"]), show_progress=False)
    with (run / "losses.csv").open() as f:
        rows = list(csv.DictReader(f))
    for key in ("g_cycle_a", "g_cycle_b", "g_gan_a", "g_gan_b", "d_a", "d_b"):
        assert all(math.isfinite(float(r[key])) for r in rows), key
    translator = load(run / "best.pt", device="cpu")
    training = translator.metadata["training"]
    assert training["model"] == "cyclegan" and training["lambda_a"] == 10.0 and training["lambda_identity"] == 0.0
    assert_mosaic_keeps_lightness(gray_uint8_twd97, run / "best.pt", tmp_path / "cyclegan.tif")
    train(load_config(path, ["steps=3"]), resume=True, show_progress=False)
    resumed = torch.load(run / "checkpoint.pt", weights_only=True)
    assert resumed["step"] == 3 and {"G_A", "G_B", "D_A", "D_B", "opt_G", "opt_D", "pool_A", "pool_B"} <= set(resumed["model"])
    straight = train(load_config(path, ["steps=3", "name=straight"]), show_progress=False)
    expected = torch.load(straight / "checkpoint.pt", weights_only=True)["model"]
    for net in ("G_A", "G_B", "D_A", "D_B"):  # resuming continues exactly: all four networks agree
        for key, value in expected[net].items():
            torch.testing.assert_close(resumed["model"][net][key], value, rtol=0, atol=0)


def test_discriminator_balance_pairs_each_d_with_its_generator():
    losses = {"d_a": 0.5, "d_b": 0.01, "g_gan_a": 9.0, "g_gan_b": 4.0}
    assert CycleGAN.adversarial_balance(None, losses) == (0.01, 4.0)  # type: ignore[arg-type]
    from geocolor.train.pix2pix import Pix2Pix

    assert Pix2Pix.adversarial_balance(None, {"d_real": 0.1, "d_fake": 0.3, "g_gan": 2.0}) == pytest.approx((0.2, 2.0))  # type: ignore[arg-type]
