"""``ema``: a moving average of the generator's weights is what is evaluated, kept and exported."""

from __future__ import annotations

import pytest
import torch

from geocolor.errors import ConfigError
from geocolor.models.io import read_model_file
from geocolor.train.config import load_config
from geocolor.train.ema import WeightAverage, effective_decay
from geocolor.train.trainer import train
from tests.train.test_trainer import tiny_config


def test_the_average_follows_the_formula_and_is_only_applied_inside_the_block():
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    avg = WeightAverage(net, decay=0.9)
    start = net[0].weight.detach().clone()
    expected = start.clone()
    for step in range(30):
        with torch.no_grad():
            net[0].weight.add_(1.0)
        net(torch.randn(4, 3))  # moves the batch-norm statistics (floating buffers) and the counter (an integer one)
        d = effective_decay(0.9, step)
        expected = d * expected + (1 - d) * net[0].weight.detach()
        avg.update()
    torch.testing.assert_close(avg.average["0.weight"], expected)
    assert avg.average["1.num_batches_tracked"].item() == 30  # integers are copied, not averaged
    raw = net[0].weight.detach().clone()
    with avg.applied():
        torch.testing.assert_close(net[0].weight.detach(), expected)
    torch.testing.assert_close(net[0].weight.detach(), raw)
    assert effective_decay(0.999, 0) == pytest.approx(0.1) and effective_decay(0.99, 10_000) == 0.99


@pytest.fixture()
def torch_threads_restored():
    """The runs below train with ``threads: 1`` (bit-exact resumes), which sets torch's process-wide count."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_a_run_with_ema_exports_the_average_and_resumes_it_exactly(tmp_path, torch_threads_restored):
    straight = train(load_config(tiny_config(tmp_path), ["ema=0.9", "name=straight", "threads=1"]), show_progress=False)
    state = torch.load(straight / "checkpoint.pt", weights_only=True)
    average, raw = state["ema"]["average"], state["model"]["G"]
    exported = read_model_file(straight / "last.pt")["state_dict"]
    for key, value in exported.items():  # fp16 in the file
        torch.testing.assert_close(value.float(), average[key].half().float(), rtol=0, atol=0)
    assert any(not torch.equal(average[k], raw[k]) for k in raw if raw[k].is_floating_point())  # not the raw weights
    # 2 steps, then 2 more resumed: the same average as 4 straight
    train(load_config(tiny_config(tmp_path), ["ema=0.9", "name=split", "steps=2", "threads=1"]), show_progress=False)
    split = train(load_config(tiny_config(tmp_path), ["ema=0.9", "name=split", "threads=1"]), resume=True, show_progress=False)
    resumed = torch.load(split / "checkpoint.pt", weights_only=True)
    for key in raw:
        torch.testing.assert_close(resumed["model"]["G"][key], raw[key], rtol=0, atol=0, msg=f"raw {key}")
    again = resumed["ema"]
    assert again["updates"] == state["ema"]["updates"] == 4
    for key in average:
        torch.testing.assert_close(again["average"][key], average[key], rtol=0, atol=0)
    with pytest.raises(ConfigError, match="ema must be within 0..1"):
        load_config(tiny_config(tmp_path), ["ema=1.0"])
