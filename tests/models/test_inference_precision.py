"""The torch engine's precision: ``auto`` keeps bf16/fp16 only within 0.5 CIEDE2000 of fp32 on real imagery."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geocolor.errors import InputError
from geocolor.models import load
from geocolor.models import precision as P
from tests.models.test_onnx import real_tiles


def test_explicit_precisions_are_checked(tiny_model):
    tr = load(tiny_model, device="cpu")
    with pytest.raises(InputError, match="fp16 needs a CUDA GPU"):
        P.choose_precision(tr, "fp16")
    with pytest.raises(InputError, match="not one of"):
        P.choose_precision(tr, "int8")
    assert P.choose_precision(tr, "fp32") == "fp32" and tr.precision == "fp32"
    assert P.choose_precision(tr, "bf16") == "bf16" and tr.precision == "bf16"
    out = tr.predict_array(real_tiles(1))
    assert out.dtype == np.float32 and np.isfinite(out).all()


def test_auto_keeps_fp32_where_the_colours_drift_or_no_candidate_runs(monkeypatch, tiny_model):
    tr = load(tiny_model, device="cpu")
    monkeypatch.setattr(P, "candidates", lambda device: [])
    assert P.choose_precision(tr, "auto") == "fp32"
    monkeypatch.setattr(P, "candidates", lambda device: ["bf16"])
    monkeypatch.setattr(P, "mean_delta_e", lambda *a: 0.6)
    assert P.choose_precision(tr, "auto", tile=real_tiles(1)) == "fp32" and tr.precision == "fp32"
    monkeypatch.setattr(P, "mean_delta_e", lambda *a: 0.2)
    assert P.choose_precision(tr, "auto", tile=real_tiles(1)) == "bf16" and tr.precision == "bf16"


def test_mean_delta_e_is_zero_for_equal_and_inf_for_nan():
    lum = np.full((1, 1, 4, 4), 50.0, np.float32)
    ab = np.ones((1, 2, 4, 4), np.float32)
    assert P.mean_delta_e(lum, ab, ab) == 0.0
    assert P.mean_delta_e(lum, ab, ab * np.nan) == float("inf")


@pytest.mark.skipif(not P.native_bf16(torch.device("cpu")), reason="this CPU has no bf16 units")
def test_shipped_model_in_bf16_stays_within_half_a_delta_e_on_real_imagery(default_model):
    tr = load(default_model, device="cpu")
    tiles = real_tiles(2)
    assert P.choose_precision(tr, "auto") == "bf16"
    fast = tr.predict_array(tiles)
    tr.precision = "fp32"
    assert P.mean_delta_e(tiles, tr.predict_array(tiles), fast) <= P.MAX_DELTA_E
