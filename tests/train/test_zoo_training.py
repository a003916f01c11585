"""pix2pix options in training: GAN losses (WGAN-GP penalty), lr policies, TTUR, RGB colour space, overfitting."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from geocolor.color import gray_to_lightness, rgb_to_lab
from geocolor.errors import ConfigError
from geocolor.models import load
from geocolor.mosaic.engine import colorize
from geocolor.train.config import config_from_dict, load_config
from geocolor.train.pix2pix import Pix2Pix
from geocolor.train.reports import loss_panels
from geocolor.train.trainer import train
from tests.train.test_trainer import tiny_config

CPU = torch.device("cpu")


def small_cfg(steps: int = 100, model: dict | None = None, loss: dict | None = None, optim: dict | None = None):
    tree = {
        "steps": steps,
        "data": {"tile": 128, "batch_size": 2, "sources": [{"path": "unused.tif"}]},
        "model": {"generator": "unet_128", "ngf": 8, "ndf": 8, "dropout": False, **(model or {})},
        "loss": loss or {},
        "optim": {"policy": "constant", **(optim or {})},
    }
    return config_from_dict(tree)


def fixed_batch(size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth, learnable pair: the target is a fixed function of the input and the position."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    inp = torch.stack([torch.sin(3 * xx + yy), torch.cos(2 * yy - xx)])[:, None]
    target = torch.cat([0.5 * torch.tanh(2 * inp), -0.4 * inp * inp.flip(-1)], 1)
    return inp, target


@pytest.mark.parametrize("gan_mode", ["wgangp", "hinge", "lsgan"])
def test_gan_losses_train(gan_mode):
    torch.manual_seed(0)
    model = Pix2Pix(small_cfg(model={"norm_d": "instance", "spectral_norm": gan_mode == "hinge"}, loss={"gan_mode": gan_mode}), CPU)
    inp, target = fixed_batch()
    for _ in range(2):
        losses = model.train_step(inp, target)
    assert all(math.isfinite(v) for v in losses.values())
    assert ("d_gp" in losses) == (gan_mode == "wgangp")
    if gan_mode == "wgangp":
        assert losses["d_gp"] > 0


def test_wgangp_penalty_is_in_the_critic_gradient(monkeypatch):
    """The penalty is not just logged: dropping it changes the critic's update."""
    import geocolor.train.pix2pix as p2p

    def critic_after_one_step(penalty_scale: float) -> torch.Tensor:
        torch.manual_seed(1)
        model = Pix2Pix(small_cfg(model={"norm_d": "none"}, loss={"gan_mode": "wgangp"}), CPU)
        real = p2p.gradient_penalty
        monkeypatch.setattr(p2p, "gradient_penalty", lambda *a: real(*a) * penalty_scale)
        model.train_step(*fixed_batch())
        return torch.cat([p.detach().flatten() for p in model.D.parameters()])

    assert not torch.equal(critic_after_one_step(1.0), critic_after_one_step(0.0))


def test_wgangp_refuses_a_batch_norm_critic():
    with pytest.raises(ConfigError, match="norm_d: instance or none"):
        small_cfg(loss={"gan_mode": "wgangp"})
    small_cfg(model={"norm": "instance"}, loss={"gan_mode": "wgangp"})


def lrs_at(policy: str, steps: list[int], **optim) -> list[float]:
    model = Pix2Pix(small_cfg(steps=100, optim={"policy": policy, "lr": 1.0, **optim}), CPU)
    model.opt_G.step()  # no gradients yet: changes nothing, but orders the scheduler after it
    out, done = [], 0
    for s in steps:
        for _ in range(s - done):
            model.sched_G.step()
        done = s
        out.append(model.opt_G.param_groups[0]["lr"])
    return out


@pytest.mark.parametrize("policy,optim,expected", [
    ("constant", {}, [1.0, 1.0, 1.0]),
    ("linear", {"decay_start": 0.5}, [1.0, 1.0, 0.5]),
    ("step", {"step_size": 30, "gamma": 0.1}, [1.0, 0.1, 0.01]),
    ("step", {"gamma": 0.5}, [1.0, 0.5, 0.25]),  # step_size 0: a quarter of the run
    ("cosine", {}, [1.0, 0.5 * (1 + math.cos(math.pi * 0.3)), 0.5]),
])
def test_lr_policies(policy, optim, expected):
    at = {"step": [0, 30, 60], "cosine": [0, 30, 50]}.get(policy, [0, 50, 75])
    if policy == "step" and "step_size" not in optim:
        at = [0, 25, 50]
    assert lrs_at(policy, at, **optim) == pytest.approx(expected)


def test_plateau_policy_steps_on_the_held_out_metric():
    model = Pix2Pix(small_cfg(optim={"policy": "plateau", "lr": 1.0, "lr_d": 0.5, "plateau_patience": 1, "plateau_factor": 0.1}), CPU)
    model.train_step(*fixed_batch())  # per-step: the plateau lr does not move
    for delta_e in (10.0, 9.0, 9.5, 9.5):
        model.on_evaluation(delta_e)
    assert model.opt_G.param_groups[0]["lr"] == pytest.approx(0.1)
    assert model.opt_D.param_groups[0]["lr"] == pytest.approx(0.05)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)  # the plateau state goes into checkpoints and loads safely
    buf.seek(0)
    again = Pix2Pix(small_cfg(optim={"policy": "plateau", "lr": 1.0}), CPU)
    again.load_state_dict(torch.load(buf, weights_only=True))
    assert again.opt_G.param_groups[0]["lr"] == pytest.approx(0.1)


def test_ttur_gives_d_its_own_learning_rate():
    model = Pix2Pix(small_cfg(steps=10, optim={"policy": "linear", "lr": 2e-4, "lr_d": 1e-4, "decay_start": 0.0}), CPU)
    assert model.opt_D.param_groups[0]["lr"] == pytest.approx(1e-4)
    model.train_step(*fixed_batch())
    assert model.opt_G.param_groups[0]["lr"] == pytest.approx(2e-4 * 0.9)
    assert model.opt_D.param_groups[0]["lr"] == pytest.approx(1e-4 * 0.9)


def test_pix2pix_overfits_one_batch():
    torch.manual_seed(0)
    model = Pix2Pix(small_cfg(optim={"lr": 1e-3}), CPU)
    inp, target = fixed_batch()
    l1 = [model.train_step(inp, target)["g_l1"] for _ in range(60)]
    assert np.mean(l1[-5:]) < 0.25 * l1[0], l1[::10]


def test_rgb_model_trains_exports_and_mosaics_keeping_luminance(tmp_path, gray_uint8_twd97):
    cfg_path = tiny_config(tmp_path)
    tree = yaml.safe_load(cfg_path.read_text())
    tree["model"]["color_space"] = "rgb"
    cfg_path.write_text(yaml.safe_dump(tree))
    run = train(load_config(cfg_path, ["steps=2"]), show_progress=False)
    translator = load(run / "best.pt", device="cpu")
    assert translator.metadata["color_space"] == "rgb"
    assert translator.metadata["architecture"]["in_channels"] == 3 == translator.metadata["architecture"]["out_channels"]
    ab = translator.predict_chroma(torch.rand(1, 1, 128, 128) * 100)
    assert ab.shape == (1, 2, 128, 128) and torch.isfinite(ab).all()
    assert_mosaic_keeps_lightness(gray_uint8_twd97, run / "last.pt", tmp_path / "rgb_model.tif")


def assert_mosaic_keeps_lightness(gray_path: Path, model: Path, out: Path) -> None:
    """Colorize ``gray_path`` with ``model``: the output's L* equals the input's within 8-bit rounding."""
    import rasterio

    colorize(gray_path, out, model=model, tile=128, show_progress=False)
    with rasterio.open(out) as o, rasterio.open(gray_path) as s:
        rgb, gray = o.read(), s.read(1)
    lum = rgb_to_lab(np.moveaxis(rgb, 0, -1).astype(np.float32) / 255.0)[..., 0]
    diff = np.abs(lum - gray_to_lightness(gray.astype(np.float32) / 255.0))
    worst = np.unravel_index(diff.argmax(), diff.shape)
    where = f"worst {diff.max():.2f} at row/col {worst}: gray {gray[worst]} -> rgb {rgb[:, worst[0], worst[1]].tolist()}; {(diff > 1).sum()} px > 1"
    assert diff.mean() < 0.3 and np.percentile(diff, 99.9) < 1.0, where


def test_loss_plot_panels_follow_the_logged_keys():
    panels = loss_panels(["step", "d_real", "d_fake", "d_gp", "g_gan", "g_l1", "lr", "lr_d"])
    assert [keys for _, keys in panels] == [["d_real", "d_fake", "g_gan"], ["d_gp"], ["g_l1"]]


ABLATIONS = sorted((Path(__file__).resolve().parents[2] / "pipelines" / "ablations").glob("*.yaml"))


@pytest.mark.parametrize("path", ABLATIONS, ids=lambda p: p.stem)
def test_ablation_configs_load_and_share_the_default_data(path):
    default = load_config(path.parents[1] / "default_model_v1.yaml")  # the zoo was ablated on the first recipe's data
    cfg = load_config(path)
    assert cfg.name == path.stem and cfg.steps <= 500 and cfg.export is None
    assert cfg.data == default.data


def _differences(a: object, b: object, prefix: str = "") -> set[str]:
    import dataclasses

    if dataclasses.is_dataclass(a):
        return {d for f in dataclasses.fields(a) for d in _differences(getattr(a, f.name), getattr(b, f.name), f"{prefix}{f.name}.")}
    return set() if a == b else {prefix.rstrip(".")}


@pytest.mark.parametrize(
    "a, b, changed",
    [
        ("unet_lab", "unet_ngf48", {"model.ngf"}),
        ("cyclegan_resnet9", "cyclegan_resnet9_rgb", {"model.color_space"}),
        ("cyclegan_resnet9_rgb", "cyclegan_resnet9_rgb_identity", {"model.options"}),
    ],
)
def test_each_ablation_changes_one_thing(a, b, changed):
    root = Path(__file__).resolve().parents[2] / "pipelines" / "ablations"
    assert _differences(load_config(root / f"{a}.yaml"), load_config(root / f"{b}.yaml")) == {"name", *changed}
