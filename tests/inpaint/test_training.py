"""Training the inpainting GAN: a tiny model overfits, every ablation config runs end to end with the trainer."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from geocolor.cli import cli
from geocolor.errors import ModelFileError
from geocolor.inpaint.model import load_inpainter
from geocolor.models import load
from geocolor.train.config import config_from_dict, load_config
from geocolor.train.inpaint import Inpaint
from tests.conftest import shared

REPO = Path(__file__).resolve().parents[2]
ABLATIONS = sorted((REPO / "pipelines" / "inpaint").glob("*.yaml"))


def real_batch(n: int = 4, size: int = 64) -> torch.Tensor:
    """Real NEON chips as gray in [-1, 1], (n, 1, size, size)."""
    from PIL import Image

    img = np.asarray(Image.open(shared("neon/SOAP_031.png")).convert("L"), dtype=np.float32) / 255.0
    chips = [img[i * size : (i + 1) * size, 100 : 100 + size] for i in range(n)]
    return torch.from_numpy(np.stack(chips)[:, None] * 2 - 1)


def test_tiny_model_overfits_one_batch():
    torch.manual_seed(0)
    cfg = config_from_dict({
        "data": {"tile": 64, "batch_size": 4, "sources": [{"path": "unused.tif"}]},
        "model": {"model": "inpaint", "generator": "dense_unet", "ngf": 8, "discriminator": "dcgan", "ndf": 8,
                  "options": {"masks": {"center": 1.0}, "center_size": 16}},
        "optim": {"policy": "constant", "lr": 2e-3, "beta2": 0.9},
    })
    model = Inpaint(cfg, torch.device("cpu"))
    batch = real_batch()
    first = [model.train_step(batch, batch)["g_rec"] for _ in range(3)]
    for _ in range(110):
        last = model.train_step(batch, batch)
    assert all(math.isfinite(v) for v in last.values())
    assert {"d_real", "d_fake", "g_gan", "g_rec", "g_tv"} <= set(last)
    assert last["g_rec"] < 0.2 * np.mean(first), (first, last["g_rec"])


def test_rec_only_never_touches_the_discriminator():
    cfg = config_from_dict({
        "data": {"tile": 64, "batch_size": 2, "sources": [{"path": "unused.tif"}]},
        "model": {"model": "inpaint", "generator": "plain_ae", "ngf": 4, "discriminator": "dcgan", "ndf": 4,
                  "options": {"lambda_adv": 0.0, "lambda_tv": 0.0, "masks": {"dust": 1.0, "boxes": 1.0}}},
    })
    model = Inpaint(cfg, torch.device("cpu"))
    before = {k: v.clone() for k, v in model.D.state_dict().items()}
    losses = model.train_step(real_batch(2), real_batch(2))
    assert "d_real" not in losses and "g_gan" not in losses
    assert all(torch.equal(before[k], v) for k, v in model.D.state_dict().items())


@pytest.mark.parametrize("path", ABLATIONS, ids=[p.stem for p in ABLATIONS])
def test_each_ablation_config_trains_end_to_end(path, tmp_path):
    assert len(ABLATIONS) == 4
    overrides = [f"out_dir={tmp_path}", "steps=2", "eval_every=2", "log_every=1", "data.tile=64", "data.batch_size=2",
                 "model.ngf=4", "model.ndf=4", "model.options.center_size=16", "threads=1",
                 f"data.sources=[{{path: {shared('neon/OSBS_029.tif')}, holdout: 'right:0.35'}}]"]
    cfg = load_config(path, overrides)
    r = CliRunner().invoke(cli, ["-q", "train", "--config", str(path), *sum((["--set", o] for o in overrides), [])])
    assert r.exit_code == 0, r.output
    run = tmp_path / cfg.name
    for name in ("losses.csv", "losses.png", "metrics.jsonl", "checkpoint.pt", "best.pt", "last.pt", "samples/step_000002.png"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert metrics["model"]["psnr_hole"] > 5 and metrics["biharmonic"]["psnr_hole"] > metrics["model"]["psnr_hole"] - 30
    inp = load_inpainter(run / "best.pt", device="cpu")
    assert inp.metadata["task"] == "inpaint" and inp.channels == 1
    assert inp.metadata["architecture"]["generator"] == cfg.model.generator
    assert inp.metadata["training"]["lambda_adv"] == cfg.model.options["lambda_adv"]
    with pytest.raises(ModelFileError, match="not a colorization model"):
        load(run / "best.pt", device="cpu")


def test_resume_continues_an_inpainting_run(tmp_path):
    tree = {"name": "r", "out_dir": str(tmp_path), "steps": 2, "eval_every": 2, "log_every": 1,
            "data": {"tile": 64, "batch_size": 2, "sources": [{"path": str(shared("neon/OSBS_029.tif")), "holdout": "right:0.35"}]},
            "model": {"model": "inpaint", "generator": "dense_unet", "ngf": 4, "ndf": 4, "discriminator": "basic",
                      "options": {"masks": {"scratches": 1, "strokes": 1}}}}
    cfg_path = tmp_path / "c.yaml"
    cfg_path.write_text(yaml.safe_dump(tree))
    assert CliRunner().invoke(cli, ["-q", "train", "--config", str(cfg_path)]).exit_code == 0
    r = CliRunner().invoke(cli, ["-q", "train", "--config", str(cfg_path), "--resume", "--steps", "4"])
    assert r.exit_code == 0, r.output
    state = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)
    assert state["step"] == 4 and state["model"]["steps_done"] == 4


def test_colour_inpainting_trains_on_rgb():
    cfg = config_from_dict({
        "data": {"tile": 64, "batch_size": 2, "sources": [{"path": "unused.tif"}]},
        "model": {"model": "inpaint", "generator": "dense_unet", "ngf": 4, "discriminator": "basic", "ndf": 4,
                  "options": {"channels": 3, "masks": {"boxes": 1.0, "nodata": 1.0}, "rec_loss": "l1"}},
    })
    model = Inpaint(cfg, torch.device("cpu"))
    rgb = torch.rand(2, 3, 64, 64)
    target = model.encoding.encode_target(rgb, torch.zeros(2, 3, 64, 64))
    assert target.shape == (2, 3, 64, 64)
    losses = model.train_step(target, target)
    assert all(math.isfinite(v) for v in losses.values())
    assert model.arch["in_channels"] == 4 and model.arch["out_channels"] == 3


def test_init_from_warm_starts_the_inpainting_generator_and_refuses_a_colour_model(tmp_path, tiny_model):
    from geocolor.errors import ConfigError
    from tests.inpaint.conftest import make_tiny_inpaint_model

    source = make_tiny_inpaint_model(tmp_path / "start.pt", ngf=4, seed=7)
    tree = {"data": {"tile": 64, "batch_size": 2, "sources": [{"path": "unused.tif"}]},
            "model": {"model": "inpaint", "generator": "dense_unet", "ngf": 4, "discriminator": "basic", "ndf": 4,
                      "init_from": str(source)}}
    model = Inpaint(config_from_dict(tree), torch.device("cpu"))
    weights = torch.load(source, weights_only=True)["state_dict"]
    assert all(torch.equal(model.G.state_dict()[k].float(), v.float()) for k, v in weights.items())
    tree["model"]["init_from"] = str(tiny_model)
    with pytest.raises(ConfigError, match="is a colorize model; this run trains a inpaint model"):
        Inpaint(config_from_dict(tree), torch.device("cpu"))


def test_inpainting_trains_with_bf16_autocast_and_channels_last():
    cfg = config_from_dict({
        "data": {"tile": 64, "batch_size": 2, "sources": [{"path": "unused.tif"}]},
        "model": {"model": "inpaint", "generator": "dense_unet_rc", "ngf": 4, "discriminator": "dcgan", "ndf": 4},
        "performance": {"amp": "bf16", "channels_last": True},
    })
    Inpaint.check_performance(cfg, 2)  # several torchrun processes too
    model = Inpaint(cfg, torch.device("cpu"))
    assert model.G.stem.weight.is_contiguous(memory_format=torch.channels_last)
    batch = real_batch(2)
    losses = [model.train_step(batch, batch) for _ in range(3)]
    assert all(math.isfinite(v) for step in losses for v in step.values())
    assert all(p.dtype == torch.float32 for p in model.G.parameters())
