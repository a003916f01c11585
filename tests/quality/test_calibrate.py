"""Saturation calibration: the chroma gain in a model file scales a*b* and keeps L*; the gain rule."""

import math

import numpy as np
import pytest
import torch

from geocolor.errors import ModelFileError
from geocolor.models import load
from geocolor.models.io import read_model_file
from geocolor.quality.calibrate import choose_gain, gain_curve, write_calibrated
from geocolor.quality.protocol import Crop


def _row(gain, ratio, false=0.0):
    return {"gain": gain, "colourfulness_ratio": ratio, "false_colour": false}


def test_choose_gain_stops_at_the_truths_colourfulness_or_at_false_colour():
    rows = [_row(1.0, 0.5), _row(1.5, 0.8), _row(2.0, 1.1)]
    assert choose_gain(rows) == pytest.approx(1.5 + 0.5 * (0.2 / 0.3), abs=1e-3)  # ratio 1 between 1.5 and 2
    rows = [_row(1.0, 0.5, 0.0), _row(1.5, 0.8, 0.01), _row(2.0, 1.1, 0.05)]
    assert choose_gain(rows) == pytest.approx(1.5 + 0.5 * (0.01 / 0.04), abs=1e-3)  # false colour 2 % comes first
    assert choose_gain([_row(1.0, 1.3), _row(2.0, 2.0)]) == 1.0  # already colourful enough: never below 1
    assert choose_gain([_row(1.0, 0.2, math.nan), _row(3.0, 0.5, math.nan)]) == 3.0  # no near-gray pixels to protect


def test_calibrated_model_scales_chroma_and_keeps_lightness(tiny_model, tmp_path):
    out = write_calibrated(tiny_model, tmp_path / "cal.pt", 1.5, {"on": ["test"]})
    meta = read_model_file(out)["metadata"]
    assert meta["normalization"]["chroma_gain"] == 1.5 and meta["calibration"] == {"on": ["test"]}
    plain, cal = load(tiny_model, device="cpu"), load(out, device="cpu")
    lightness = torch.linspace(5, 95, 256 * 256).reshape(1, 1, 256, 256)
    torch.testing.assert_close(cal.predict_chroma(lightness), 1.5 * plain.predict_chroma(lightness), rtol=1e-4, atol=1e-3)


def test_gain_curve_grows_colourfulness(tiny_model):
    from geocolor.color import rgb_to_lab

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)
    lab = np.asarray(rgb_to_lab(truth.astype(np.float32) / 255.0)).copy()
    lab[..., 1:] *= 0.5  # a washed-out prediction of the truth's own colours
    rows = gain_curve([lab], [Crop("c", truth)], gains=(1.0, 2.0))
    assert rows[0]["colourfulness_ratio"] < 0.7 < rows[1]["colourfulness_ratio"]
    assert rows[1]["delta_e2000"] < rows[0]["delta_e2000"]


@pytest.mark.parametrize("gain", [0.0, 10.0, "abc", float("nan")])
def test_out_of_range_chroma_gain_is_refused(tiny_model, tmp_path, gain):
    payload = torch.load(tiny_model, weights_only=True)
    payload["metadata"]["normalization"]["chroma_gain"] = gain
    del payload["metadata_checksum"]  # as in a file written before metadata had a checksum: the bounds still hold
    path = tmp_path / "bad.pt"
    torch.save(payload, path)
    with pytest.raises(ModelFileError, match="chroma_gain"):
        load(path, device="cpu")
