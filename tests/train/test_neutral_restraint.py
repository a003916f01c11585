"""The over-colour penalty, held-out false colour, and choosing best.pt under a false-colour bound."""

from __future__ import annotations

import json
import math

import pytest
import torch

from geocolor.errors import ConfigError
from geocolor.models.chroma_loss import chroma_excess
from geocolor.train.config import load_config
from geocolor.train.trainer import FALSE_COLOUR_RANK, selection_score, train
from tests.train.test_trainer import tiny_config


def ab(a: float, b: float, side: int = 4) -> torch.Tensor:
    return torch.tensor([a, b]).reshape(1, 2, 1, 1).expand(1, 2, side, side).clone()


def test_chroma_excess_charges_only_colour_above_the_truths():
    truth = ab(30.0, 40.0)  # C*ab 50
    assert chroma_excess(ab(15.0, 20.0), truth).item() == pytest.approx(0.0, abs=1e-3)  # less colour: free
    assert chroma_excess(ab(-30.0, -40.0), truth).item() == pytest.approx(0.0, abs=1e-3)  # wrong hue, same chroma: L1's job
    assert chroma_excess(ab(36.0, 48.0), truth).item() == pytest.approx(10.0, abs=1e-3)


def test_chroma_excess_weighs_near_neutral_truths_more():
    gray, green = ab(0.0, 3.0), ab(-20.0, 21.0)
    on_gray = chroma_excess(ab(0.0, 13.0), gray, neutral_weight=4.0).item()  # 10 units over a neutral truth
    over_green = chroma_excess(ab(-27.0, 28.4), green, neutral_weight=4.0).item()  # ~10 units over a coloured one
    assert on_gray == pytest.approx(40.0, rel=1e-3)
    assert over_green == pytest.approx(10.0, rel=0.02)


def test_chroma_excess_gradient_pulls_chroma_down_on_a_neutral_truth():
    pred = ab(10.0, 10.0).requires_grad_(True)
    chroma_excess(pred, ab(1.0, 1.0)).backward()
    assert pred.grad is not None and (pred.grad > 0).all()  # descending lowers both a* and b*: toward gray


def test_chroma_excess_refuses_wrong_shapes():
    with pytest.raises(ValueError, match="N, 2, H, W"):
        chroma_excess(torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2))


def test_selection_prefers_any_evaluation_within_the_false_colour_bound():
    within = selection_score({"delta_e2000": 9.0, "false_colour": 0.02}, 0.03)
    over = selection_score({"delta_e2000": 4.0, "false_colour": 0.10}, 0.03)
    worse_over = selection_score({"delta_e2000": 3.0, "false_colour": 0.20}, 0.03)
    assert within == 9.0 and within < over < worse_over and over == pytest.approx(FALSE_COLOUR_RANK + 10.0)
    assert selection_score({"delta_e2000": 4.0, "false_colour": 0.5}, None) == 4.0  # no bound: CIEDE2000 alone


@pytest.mark.parametrize(("key", "value", "match"), [
    ("loss", {"lambda_chroma": -1.0}, "lambda_chroma"),
    ("best_false_colour_max", 1.5, "best_false_colour_max"),
])
def test_bad_restraint_settings_are_one_line_errors(tmp_path, key, value, match):
    with pytest.raises(ConfigError, match=match):
        load_config(tiny_config(tmp_path, **{key: value}))


def test_models_without_the_penalty_refuse_it(tmp_path):
    with pytest.raises(ConfigError, match="lambda_chroma works for .*pix2pix.*not 'cyclegan'"):
        load_config(tiny_config(tmp_path, model={"model": "cyclegan", "generator": "unet_128", "ngf": 8, "ndf": 8},
                                loss={"lambda_chroma": 1.0}))


def test_training_with_the_penalty_logs_it_and_scores_false_colour(tmp_path):
    cfg = load_config(tiny_config(tmp_path, loss={"lambda_gan": 0.0, "lambda_chroma": 2.0}, best_false_colour_max=0.05))
    run = train(cfg, show_progress=False)
    header, *rows = (run / "losses.csv").read_text().splitlines()
    assert "g_chroma" in header.split(",") and rows
    evals = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    fc = [e["model"]["false_colour"] for e in evals]
    assert fc and all(0.0 <= f <= 1.0 and not math.isnan(f) for f in fc)
    assert all("false_colour" in e["gray"] and e["gray"]["false_colour"] == 0.0 for e in evals)  # gray never paints
    meta = torch.load(run / "best.pt", weights_only=True)["metadata"]
    assert meta["training"]["lambda_chroma"] == 2.0
