"""DDP for real: two CPU processes (gloo) under torchrun train a tiny config for two steps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from tests.conftest import shared

ROOT = Path(__file__).resolve().parents[2]


def ddp_config(tmp_path: Path, name: str = "ddp", steps: int = 2, model: dict | None = None) -> Path:
    tree = {
        "name": name, "out_dir": str(tmp_path / "runs"), "steps": steps, "eval_every": 2, "log_every": 1, "seed": 3,
        "threads": 1, "device": "cpu",
        "data": {"tile": 128, "batch_size": 2, "sources": [{"path": str(shared("neon/OSBS_029.tif")), "holdout": "right:0.35"}]},
        "model": model or {"generator": "unet_128", "ngf": 8, "ndf": 8},
        "optim": {"policy": "constant"},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(tree))
    return path


def torchrun(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


MODELS = {
    "ddp": None,  # pix2pix, the config's default
    "cyclegan": {"model": "cyclegan", "generator": "resnet_6blocks", "norm": "instance", "ngf": 8, "ndf": 8, "dropout": False},
    "stylecolor": {"model": "stylecolor", "generator": "unet_128", "ngf": 8, "ndf": 8, "options": {"style_named_prob": 0.5}},
    "inpaint": {"model": "inpaint", "generator": "dense_unet_rc", "ngf": 4, "ndf": 4, "discriminator": "dcgan"},
    "cut": {"model": "cut", "generator": "unet_128", "ngf": 4, "ndf": 4, "color_space": "rgb", "norm": "instance", "dropout": False,
            "options": {"nce_mlp_dim": 16, "num_patches": 16}},
    "bicyclegan": {"model": "bicyclegan", "generator": "unet_128", "ngf": 4, "ndf": 4, "norm": "instance", "dropout": False,
                   "options": {"nz": 4}},
}


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory) -> Path:
    """Every model of ``MODELS``, 2 steps each, in one launch of two processes (the worker saves each rank's
    parameters under ``<folder>/<name>/``)."""
    tmp = tmp_path_factory.mktemp("ddp")
    configs = []
    for name, model in MODELS.items():
        path = ddp_config(tmp, name, model=model)
        if name == "stylecolor":  # learned named codes: the source needs a style name
            tree = yaml.safe_load(path.read_text())
            tree["data"]["sources"][0]["style"] = "osbs"
            path.write_text(yaml.safe_dump(tree))
        configs.append(str(path))
    torchrun(str(ROOT / "tests/train/ddp_worker.py"), str(tmp), *configs)
    return tmp


def rank_params(folder: Path) -> dict[str, torch.Tensor]:
    """Rank 0's parameters, after checking that rank 1 holds exactly the same."""
    a, b = (torch.load(folder / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert a.keys() == b.keys() and len(a) > 10
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    return a


def test_two_ranks_end_with_identical_weights_and_one_set_of_outputs(ddp_runs):
    a = rank_params(ddp_runs / "ddp")
    run = ddp_runs / "runs" / "ddp"
    assert sorted(p.name for p in run.iterdir()) == [
        "best.pt", "checkpoint.pt", "config.yaml", "last.pt", "losses.csv", "losses.png", "metrics.jsonl", "samples"
    ]
    assert [int(r.split(",")[0]) for r in (run / "losses.csv").read_text().splitlines()[1:]] == [1, 2]
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 1
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    # each rank drew its own chips: two different data RNG states, both kept for resuming
    assert len(state["rank_rngs"]) == 2 and state["rank_rngs"][0]["data_rng"] != state["rank_rngs"][1]["data_rng"]
    # and rank 0's weights are the ones saved
    for key, value in state["model"]["G"].items():
        if f"G.{key}" in a:
            torch.testing.assert_close(value, a[f"G.{key}"], rtol=0, atol=0)


def test_torchrun_cli_resumes_the_run(ddp_runs):
    cfg = ddp_config(ddp_runs)  # the same config (same run folder), rewritten
    r = torchrun("-m", "geocolor.cli", "-q", "train", "--config", str(cfg), "--steps", "3", "--resume")
    assert r.stderr.count("run folder:") == 1  # one line, from rank 0
    run = ddp_runs / "runs" / "ddp"
    steps = [int(r.split(",")[0]) for r in (run / "losses.csv").read_text().splitlines()[1:]]
    assert steps == [1, 2, 3]
    meta = torch.load(run / "last.pt", weights_only=True)["metadata"]
    assert meta["training"]["processes"] == 2 and meta["training"]["images_seen"] == 3 * 2 * 2


@pytest.mark.parametrize(("name", "expected"), [
    ("cyclegan", {"G_A", "G_B", "D_A", "D_B"}),  # each generator is called twice (translation and cycle) before one backward
    ("stylecolor", {"G", "D", "named_table"}),
    ("inpaint", {"G", "D"}),
    ("cut", {"G", "F", "D"}),  # CUT's projection heads included
    ("bicyclegan", {"G", "E", "D_vae", "D_lr"}),
])
def test_every_model_keeps_its_ranks_identical(ddp_runs, name, expected):
    """Models trained through the base's networks run under DDP; two ranks end with the same weights."""
    assert {key.split(".")[0] for key in rank_params(ddp_runs / name)} == expected  # and identical on both ranks
