"""Mixed precision, channels_last and torch.compile in training (``performance:`` in a config)."""

from __future__ import annotations

import math

import pytest
import torch

from geocolor.errors import ConfigError
from geocolor.models import load
from geocolor.train.config import load_config
from geocolor.train.precision import Precision
from geocolor.train.trainer import Trainer, train
from tests.train.test_trainer import tiny_config
from tests.train.test_zoo_training import fixed_batch, small_cfg

CPU = torch.device("cpu")
GPU = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_bf16_autocast_on_cpu_runs_convolutions_in_bf16():
    conv = torch.nn.Conv2d(1, 4, 3)
    with Precision("bf16", CPU).autocast():
        assert conv(torch.rand(1, 1, 8, 8)).dtype == torch.bfloat16
    with Precision("off", CPU).autocast():
        assert conv(torch.rand(1, 1, 8, 8)).dtype == torch.float32


@pytest.mark.parametrize("model", ["pix2pix", "cyclegan"])
def test_bf16_training_on_cpu_has_finite_losses_and_learns(model):
    from geocolor.train.models import MODELS

    extra = {"model": "cyclegan", "generator": "resnet_6blocks", "norm": "instance"} if model == "cyclegan" else {}
    cfg = small_cfg(model=extra)
    cfg.performance.amp = "bf16"
    net = MODELS[model](cfg, CPU)
    inp, target = fixed_batch()
    first = net.train_step(inp, target)
    for _ in range(2):
        last = net.train_step(inp, target)
    assert all(math.isfinite(v) for v in last.values())
    key = "g_l1" if model == "pix2pix" else "g_cycle_a"
    assert last[key] < first[key]  # it learns under bf16
    assert all(p.dtype == torch.float32 for p in net.G.parameters())  # master weights stay float32


def test_fp16_on_cpu_is_refused_with_a_clear_message(tmp_path):
    with pytest.raises(ConfigError, match="fp16 needs a CUDA GPU; on CPU use amp: bf16"):
        Trainer(load_config(tiny_config(tmp_path), ["performance.amp=fp16", "device=cpu"]), show_progress=False)
    assert not (tmp_path / "runs").exists()  # nothing left behind
    with pytest.raises(ConfigError, match="unknown performance.amp"):
        load_config(tiny_config(tmp_path), ["performance.amp=fp8"])


def test_bf16_channels_last_run_resumes_exactly_and_checkpoints_the_precision(tmp_path):
    over = ["performance.amp=bf16", "performance.channels_last=true"]
    straight = train(load_config(tiny_config(tmp_path), [*over, "steps=4", "eval_every=4", "name=straight"]), show_progress=False)
    train(load_config(tiny_config(tmp_path), [*over, "steps=2", "name=split"]), show_progress=False)
    split = train(load_config(tiny_config(tmp_path), [*over, "steps=4", "name=split"]), resume=True, show_progress=False)
    a = torch.load(straight / "checkpoint.pt", weights_only=True)
    b = torch.load(split / "checkpoint.pt", weights_only=True)
    assert a["scaler"] == {"amp": "bf16", "scaler": {}}  # bf16 needs no loss scaling
    for key in a["model"]["G"]:
        torch.testing.assert_close(a["model"]["G"][key], b["model"]["G"][key], rtol=0, atol=0)
    # channels_last networks export the plain module: the model file loads and predicts
    tr = load(split / "last.pt", device="cpu")
    assert tr.metadata["training"]["amp"] == "bf16"
    assert torch.isfinite(tr.predict_chroma(torch.full((1, 1, 128, 128), 50.0))).all()


def test_channels_last_networks_and_batches(tmp_path):
    trainer = Trainer(load_config(tiny_config(tmp_path), ["performance.channels_last=true"]), show_progress=False)
    weight = next(p for p in trainer.model.G.parameters() if p.dim() == 4 and p.shape[1] > 1)
    assert weight.is_contiguous(memory_format=torch.channels_last) and not weight.is_contiguous()
    inp, target = trainer._training_batch()
    assert inp.is_contiguous(memory_format=torch.channels_last)
    assert all(math.isfinite(v) for v in trainer.model.train_step(inp, target).values())


def test_compile_is_opt_in_and_exports_the_plain_module():
    from geocolor.train.pix2pix import Pix2Pix

    plain = Pix2Pix(small_cfg(), CPU)
    assert plain.nets["G"].train is plain.G  # off by default: no wrapper
    cfg = small_cfg()
    cfg.performance.compile = True
    compiled = Pix2Pix(cfg, CPU)
    assert compiled.nets["G"].train is not compiled.G and hasattr(compiled.nets["G"].train, "_orig_mod")
    assert list(compiled.state_dict()["G"]) == list(plain.state_dict()["G"])  # no "_orig_mod." keys


@pytest.mark.skipif(not torch.cuda.is_available(), reason="torch.compile on 2 shared CPU cores takes minutes per graph")
def test_compiled_training_step_runs():
    from geocolor.train.pix2pix import Pix2Pix

    cfg = small_cfg()
    cfg.performance.compile = True
    net = Pix2Pix(cfg, torch.device("cuda"))
    inp, target = (t.cuda() for t in fixed_batch())
    assert all(math.isfinite(v) for v in net.train_step(inp, target).values())


@GPU
def test_fp16_on_gpu_scales_the_loss_and_checkpoints_the_scaler(tmp_path):
    run = train(load_config(tiny_config(tmp_path), ["performance.amp=fp16", "device=cuda"]), show_progress=False)
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["scaler"]["amp"] == "fp16" and state["scaler"]["scaler"]["scale"] > 0
    resumed = Trainer(load_config(tiny_config(tmp_path), ["performance.amp=fp16", "device=cuda", "steps=6"]), resume=True,
                      show_progress=False)
    assert resumed.model.precision.scaler.get_scale() == state["scaler"]["scaler"]["scale"]


ZOO = {
    "pix2pix": {"generator": "unet_128"},
    "cyclegan": {"generator": "unet_128"},
    "stylecolor": {"generator": "unet_128"},
    "cut": {"generator": "unet_128", "color_space": "rgb", "options": {"nce_mlp_dim": 16, "num_patches": 16}},
    "fastcut": {"generator": "unet_128", "color_space": "rgb", "options": {"nce_mlp_dim": 16, "num_patches": 16}},
    "bicyclegan": {"generator": "unet_128", "options": {"nz": 4}},
    "inpaint": {"generator": "dense_unet_rc", "discriminator": "dcgan"},
}


@pytest.mark.parametrize("model", sorted(ZOO))
def test_every_model_trains_under_bf16_autocast_and_channels_last_through_the_base(model):
    from geocolor.train.config import config_from_dict
    from geocolor.train.registry import MODELS

    assert set(ZOO) == set(MODELS), "a new model joins this test"
    tree = {"data": {"tile": 128, "batch_size": 2, "sources": [{"path": "unused.tif"}]},
            "model": {"model": model, "ngf": 4, "ndf": 4, "norm": "instance", "dropout": False, **ZOO[model]},
            "performance": {"amp": "bf16", "channels_last": True}, "optim": {"policy": "constant"}}
    cfg = config_from_dict(tree)
    torch.manual_seed(0)
    net = MODELS[model](cfg, torch.device("cpu"))
    first_conv = next(m for m in net.G.modules() if isinstance(m, torch.nn.Conv2d) and m.weight.shape[-1] > 1)
    assert first_conv.weight.is_contiguous(memory_format=torch.channels_last)
    channels = 3 if net.encoding.color_space == "rgb" else 1
    inp = torch.rand(2, channels, 128, 128) * 2 - 1
    target = torch.rand(2, {"lab": 2}.get(net.encoding.color_space, channels), 128, 128) * 2 - 1
    if model == "inpaint":
        target = inp
    before = {k: v.clone() for k, v in net.G.state_dict().items() if v.dtype.is_floating_point}
    for _ in range(2):
        losses = net.train_step(inp.contiguous(memory_format=torch.channels_last), target.contiguous(memory_format=torch.channels_last))
    assert losses and all(math.isfinite(v) for v in losses.values()), losses
    assert all(p.dtype == torch.float32 for p in net.G.parameters())
    assert any(not torch.equal(before[k], v) for k, v in net.G.state_dict().items() if k in before), "G was updated"


def test_a_model_that_cannot_run_under_ddp_says_so():
    from dataclasses import dataclass

    from geocolor.train.base import TrainableModel
    from geocolor.train.config import config_from_dict
    from geocolor.train.registry import MODELS

    @dataclass
    class Single(TrainableModel):
        supports_ddp = False

    MODELS.register("single", Single)  # type: ignore[arg-type]
    try:
        cfg = config_from_dict({"data": {"tile": 256, "sources": [{"path": "unused.tif"}]}, "model": {"model": "single"}})
        with pytest.raises(ConfigError, match="model single does not support several torchrun processes"):
            Single.check_performance(cfg, 2)
        Single.check_performance(cfg, 1)
        assert all(MODELS[name].supports_ddp for name in MODELS if name != "single")
    finally:
        MODELS.unregister("single")
