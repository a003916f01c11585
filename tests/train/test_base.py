"""The trainable-model seam: one base class, one registry, per-model options, one config parser."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from geocolor.errors import ConfigError
from geocolor.models.encoding import encoding_for
from geocolor.train.base import TrainableModel
from geocolor.train.config import config_from_dict, load_config, migrate_legacy
from geocolor.train.registry import MODELS
from geocolor.train.trainer import train
from tests.train.test_trainer import tiny_config


@dataclass
class ToyOptions:
    width: int = 4
    scale: float = 1.0


class Toy(TrainableModel):
    """A one-layer colorizer: everything beyond its network, its options and its step comes from the base."""

    Options = ToyOptions
    networks = ("G",)
    optimisers = ("opt_G",)
    schedulers = ("sched_G",)

    @classmethod
    def validate(cls, cfg, options):
        if options.scale <= 0:
            raise ConfigError("model.options.scale must be > 0")

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.encoding = encoding_for(cfg.model.color_space)
        self.arch = {"generator": "toy", "in_channels": 1, "out_channels": 2, "ngf": self.options.width}
        self.G = self.add_network("G", nn.Sequential(nn.Conv2d(1, self.options.width, 3, padding=1), nn.ReLU(),
                                            nn.Conv2d(self.options.width, 2, 3, padding=1), nn.Tanh()))
        self.make_optimisers(list(self.G.parameters()))

    def train_step(self, inp, target):
        self.set_train()
        self.opt_G.zero_grad(set_to_none=True)
        with self.precision.autocast():
            out = self.nets["G"].train(inp)
        loss = F.l1_loss(out.float() * self.options.scale, target)
        self.precision.backward(loss)
        self.precision.step(self.opt_G)
        self.precision.update()
        self.step_schedulers()
        return {"g_l1": loss.item()}


@pytest.fixture
def toy_registered():
    MODELS.register("toy", Toy)
    yield
    MODELS.unregister("toy")


def test_a_toy_model_is_one_class_and_one_registry_line(toy_registered, tmp_path, monkeypatch):
    import yaml

    path = tiny_config(tmp_path)
    tree = yaml.safe_load(path.read_text())
    tree["model"] = {"model": "toy", "generator": "unet_128", "options": {"width": 6}}
    path.write_text(yaml.safe_dump(tree))
    cfg = load_config(path, ["steps=2"])
    run = train(cfg, show_progress=False)
    state = torch.load(run / "checkpoint.pt", weights_only=True)["model"]
    assert set(state) == {"G", "opt_G", "sched_G"} and state["G"]["0.weight"].shape[0] == 6
    assert (run / "losses.csv").read_text().startswith("step,")
    train(load_config(path, ["steps=3"]), resume=True, show_progress=False)  # more steps: the same recipe
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] == 3
    # another recipe in the same folder is refused, naming what changed; the run is left as it was
    with pytest.raises(ConfigError, match=r"trained with another recipe \(model.options.width: 6 -> 5; seed: 3 -> 7\)"):
        train(load_config(path, ["steps=4", "seed=7", "model.options.width=5"]), resume=True, show_progress=False)
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] == 3
    with pytest.raises(ConfigError, match="model.options.scale must be > 0"):
        load_config(path, ["model.options.scale=0"])
    with pytest.raises(ConfigError, match=r"unknown key\(s\) depth in model.options; valid: scale, width"):
        load_config(path, ["model.options.depth=3"])
    with pytest.raises(ConfigError, match="model.options.width must be int"):
        load_config(path, ["model.options.width=2.5"])


def test_the_registry_refuses_non_models_and_duplicates():
    with pytest.raises(TypeError):
        MODELS.register("bad", dict)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already registered"):
        MODELS.register("pix2pix", Toy)
    assert list(MODELS)[:3] == ["pix2pix", "cyclegan", "stylecolor"] and "inpaint" in MODELS
    with pytest.raises(ConfigError, match="unknown model.model 'pix3pix'; choose one of pix2pix"):
        config_from_dict({"data": {"sources": [{"path": "x"}]}, "model": {"model": "pix3pix"}})


def test_warm_start_is_declared_by_the_model_class():
    able = {n for n in MODELS if MODELS[n].warm_startable}
    assert able == {"pix2pix", "stylecolor", "inpaint"}
    with pytest.raises(ConfigError, match="works for pix2pix, stylecolor, inpaint, not 'cyclegan'"):
        config_from_dict({"data": {"sources": [{"path": "x"}]}, "model": {"model": "cyclegan", "init_from": "m.pt"}})


def test_configs_written_before_model_options_still_load(caplog):
    tree = {"data": {"sources": [{"path": "x"}]},
            "model": {"model": "cyclegan", "pool_size": 3, "style_named_prob": 0.2},
            "loss": {"lambda_a": 5.0, "lambda_identity": 0.0},
            "inpaint": {"channels": 3}}
    with caplog.at_level(logging.WARNING):
        cfg = config_from_dict(tree)
    assert cfg.model.options == {"pool_size": 3, "lambda_a": 5.0, "lambda_identity": 0.0}
    assert "model.pool_size is now model.options.pool_size" in caplog.text
    assert "model.style_named_prob is an option of stylecolor, not of cyclegan: ignored" in caplog.text
    assert "inpaint.channels is an option of inpaint" in caplog.text
    inpaint = config_from_dict({"data": {"sources": [{"path": "x"}]}, "model": {"model": "inpaint", "generator": "dense_unet"},
                                "inpaint": {"channels": 3, "masks": {"boxes": 1.0}}})
    assert inpaint.model.options == {"channels": 3, "masks": {"boxes": 1.0}}
    with pytest.raises(ConfigError, match="loss.lambda_a and model.options.lambda_a are both set"):
        migrate_legacy({"model": {"model": "cyclegan", "options": {"lambda_a": 1}}, "loss": {"lambda_a": 2}})


def test_one_parser_reads_dataset_and_training_values_alike():
    from geocolor.configs import coerce

    assert coerce(bool, "yes", "x") is True and coerce(bool, "false", "x") is False
    assert coerce(list[int], "1,2,3", "x") == [1, 2, 3] == coerce(list[int], [1, 2, 3], "x")
    assert coerce(tuple[int, int], [16, 64], "x") == (16, 64)
    assert coerce(dict[str, float], {"boxes": 1}, "x") == {"boxes": 1.0}
    assert coerce(int, "7", "x") == 7 and coerce(float | None, None, "x") is None
    for tp, bad in ((int, 2.5), (int, True), (bool, "maybe"), (float, "fast"), (list[int], {"a": 1})):
        with pytest.raises(ConfigError, match="^x "):
            coerce(tp, bad, "x")
    from geocolor.dataset.config import config_from_dict as dataset_config

    with pytest.raises(ConfigError, match="must be int"):
        dataset_config({"src": ["x.tif"], "size": 2.5})
