"""The trainer end to end on a tiny real config: run folder, exported model, resume, errors."""

from __future__ import annotations

import math

import pytest
import torch
import yaml
from click.testing import CliRunner

from geocolor.cli import cli
from geocolor.errors import ConfigError, TrainingError
from geocolor.models import load
from geocolor.mosaic.engine import colorize
from geocolor.train.config import load_config
from geocolor.train.trainer import Trainer, train
from tests.conftest import shared


def tiny_config(tmp_path, **over) -> object:
    tree = {
        "name": "tiny", "out_dir": str(tmp_path / "runs"), "steps": 4, "eval_every": 2, "log_every": 1, "seed": 3,
        "data": {"tile": 128, "batch_size": 2, "sources": [{"path": str(shared("neon/OSBS_029.tif")), "holdout": "right:0.35"}]},
        "model": {"generator": "unet_128", "ngf": 8, "ndf": 8},
        "optim": {"policy": "constant"},
    }
    for key, value in over.items():
        tree[key] = value
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tree))
    return path


def test_train_cli_writes_a_complete_run_folder(tmp_path, gray_uint8_twd97):
    cfg_path = tiny_config(tmp_path)
    r = CliRunner().invoke(cli, ["-q", "train", "--config", str(cfg_path)])
    assert r.exit_code == 0, r.output
    run = tmp_path / "runs" / "tiny"
    for name in ("config.yaml", "losses.csv", "losses.png", "metrics.jsonl", "checkpoint.pt", "best.pt", "last.pt"):
        assert (run / name).is_file(), name
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_000002.png", "step_000004.png"]
    tr = load(run / "best.pt", device="cpu")
    ev = tr.metadata["evaluation"]
    assert ev["n_chips"] == 8 and {"model", "gray", "mean_color"} <= set(ev)
    assert tr.metadata["training"]["steps"] in (2, 4)
    out = tmp_path / "colour.tif"
    colorize(gray_uint8_twd97, out, model=run / "last.pt", tile=128, show_progress=False)
    assert out.exists()


def test_existing_run_needs_resume(tmp_path):
    cfg = load_config(tiny_config(tmp_path), ["steps=2"])
    train(cfg, show_progress=False)
    with pytest.raises(ConfigError, match="--resume"):
        Trainer(cfg)


def test_resume_continues_exactly(tmp_path):
    straight = load_config(tiny_config(tmp_path), ["steps=6", "name=straight"])
    train(straight, show_progress=False)
    first = load_config(tiny_config(tmp_path), ["steps=4", "name=split"])
    train(first, show_progress=False)
    second = load_config(tiny_config(tmp_path), ["steps=6", "name=split"])
    train(second, resume=True, show_progress=False)
    a = torch.load(tmp_path / "runs" / "straight" / "checkpoint.pt", weights_only=True)["model"]["G"]
    b = torch.load(tmp_path / "runs" / "split" / "checkpoint.pt", weights_only=True)["model"]["G"]
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


def test_non_finite_loss_stops_with_clear_message(tmp_path, monkeypatch):
    trainer = Trainer(load_config(tiny_config(tmp_path)), show_progress=False)
    monkeypatch.setattr(trainer.model, "train_step", lambda *_: {"d_real": math.nan, "d_fake": 0.0, "g_gan": 0.0, "g_l1": 0.0})
    with pytest.raises(TrainingError, match="non-finite loss at step 1"):
        trainer.run()


@pytest.mark.parametrize("override,message", [
    (["modle.ngf=3"], "unknown key"),
    (["model.ngf=abc"], "must be int"),
    (["data.tile=100"], "multiple of 128"),
    (["model.color_space=xyz"], "not available"),
    (["optim.lr=-0.001"], "optim.lr must be a positive number"),
    (["optim.lr=.nan"], "optim.lr must be a positive number"),
    (["model.ngf=-4"], "model.ngf must be within 1..512"),
    (["data.dataset=pipelines/default_model.yaml"], "is not a folder"),
])
def test_config_errors_name_the_problem(tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(tiny_config(tmp_path), override)


def test_trains_from_a_built_dataset_with_degraded_inputs(tmp_path):
    """The dataset builder's layout loads in the trainer; evaluation uses its test split."""
    data = tmp_path / "ds"
    r = CliRunner().invoke(cli, ["-q", "dataset", str(shared("naip/m_4709963_se_14_1_20090818.tif")), str(data),
                                 "--bands", "1,2,3", "--size", "128", "--block-size", "1280", "--split-gap", "0",
                                 "--split", "0.6,0.2,0.2", "--seed", "1", "--preview", "0"])
    assert r.exit_code == 0, r.output
    cfg_path = tiny_config(tmp_path, data={"tile": 128, "batch_size": 2, "dataset": str(data)})
    run = train(load_config(cfg_path), show_progress=False)
    meta = load(run / "best.pt", device="cpu").metadata
    assert meta["evaluation"]["n_chips"] > 0
    assert meta["training"]["sources"][0]["train_chips"] > 0


def test_train_data_dir_needs_no_config_and_config_is_positional(tmp_path):
    """``geocolor train --data DIR`` trains with the default recipe, tile and generator from the chips."""
    data = tmp_path / "ds"
    r = CliRunner().invoke(cli, ["-q", "dataset", str(shared("naip/m_4709963_se_14_1_20090818.tif")), str(data),
                                 "--bands", "1,2,3", "--size", "128", "--split", "0.8,0.1,0.1", "--preview", "0"])
    assert r.exit_code == 0, r.output
    common = ["--steps", "2", "--out-dir", str(tmp_path / "runs"), "--set", "model.ngf=8", "--set", "model.ndf=8",
              "--set", "eval_every=2", "--set", "data.batch_size=2"]
    r = CliRunner().invoke(cli, ["-q", "train", "--data", str(data), *common])
    assert r.exit_code == 0, r.output
    meta = load(tmp_path / "runs" / "ds" / "last.pt", device="cpu").metadata
    assert meta["tile_size"] == 128 and meta["architecture"]["generator"] == "unet_128"  # followed the 128 px chips
    # a config given as an argument, with --data: its settings, the dataset's tile and a fitting generator
    r = CliRunner().invoke(cli, ["-q", "train", str(tiny_config(tmp_path)), "--data", str(data), *common, "--name", "cfg"])
    assert r.exit_code == 0, r.output
    assert load(tmp_path / "runs" / "cfg" / "last.pt", device="cpu").metadata["tile_size"] == 128
    r = CliRunner().invoke(cli, ["-q", "train"])
    assert r.exit_code != 0 and "give a config" in r.output


def test_progress_line_for_logs_without_a_terminal():
    from geocolor.train.trainer import progress_line

    line = progress_line(1000, 9000, {"g_l1": 4.2, "d_real": 0.5}, seconds=100.0, steps=125, batch=8)
    assert line == "step 1000/9000  g_l1 4.200  d_real 0.500  10.0 img/s  ETA 1h 46m"  # 8000 steps at 1.25 steps/s
    assert progress_line(5, 10, {}, seconds=0.0, steps=0, batch=8).endswith("ETA ?")


class Hook:
    """An arbitrary object in a checkpoint: unpickling it would run code, so weights_only refuses it."""


@pytest.mark.parametrize("damage", ["truncated", "pickled_code", "foreign"])
def test_resume_from_a_damaged_checkpoint_is_one_line(tmp_path, damage):
    import pickle

    cfg = load_config(tiny_config(tmp_path))
    train(cfg, show_progress=False)
    ckpt = cfg.run_dir / "checkpoint.pt"
    if damage == "truncated":
        ckpt.write_bytes(ckpt.read_bytes()[:4000])
    elif damage == "pickled_code":
        torch.save({"model": {}, "step": 1, "hook": Hook()}, ckpt, pickle_protocol=pickle.HIGHEST_PROTOCOL)  # code: refused
    else:
        torch.save({"weights": torch.zeros(3)}, ckpt)
    with pytest.raises(TrainingError, match="cannot resume from .*checkpoint.pt") as info:
        train(cfg, resume=True, show_progress=False)
    assert "\n" not in str(info.value)


def test_training_in_a_log_prints_plain_progress_lines(tmp_path):
    """No terminal (nohup, a cluster job): the bar is off, and plain lines with step, losses, img/s and ETA appear."""
    import subprocess
    import sys

    cfg_path = tiny_config(tmp_path)
    r = subprocess.run([sys.executable, "-m", "geocolor.cli", "train", str(cfg_path)], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("step ")]
    assert lines and lines[-1].startswith("step 4/4 ") and "img/s" in lines[-1] and "ETA" in lines[-1]


def test_a_time_budget_stops_the_run_and_counts_across_resumes(tmp_path):
    """``max_minutes`` ends the run (evaluated, checkpointed, exported) once the training time is spent;
    ``eval_at_start`` scores the starting weights as step 0."""
    import json

    import torch

    from geocolor.train.config import load_config
    from geocolor.train.trainer import train

    path = tiny_config(tmp_path, steps=100_000, eval_every=1000, max_minutes=0.05, eval_at_start=True)
    run = train(load_config(path), show_progress=False)
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert 1 < state["step"] < 100_000 and 1.5 < state["seconds"] <= 3.0  # stopped before overrunning 3 s
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps[0] == 0 and steps[-1] == state["step"]
    assert (run / "best.pt").exists() and (run / "last.pt").exists()
    train(load_config(path), resume=True, show_progress=False)  # the budget is spent: one more step, then stop
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] == state["step"] + 1
