"""Inpainting figures: hole vs whole-image metrics, the biharmonic baseline, the report table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from geocolor.inpaint.evaluate import biharmonic, fill_metrics, markdown_table, score, write_report
from geocolor.inpaint.masks import center_box


def test_metrics_separate_the_hole_from_the_image():
    rng = np.random.default_rng(0)
    truth = rng.random((64, 64))
    hole = center_box(64, 64, size=16)
    pred = truth.copy()
    pred[hole] += 0.1
    m = fill_metrics(pred, truth, hole)
    assert m["l2_hole"] == pytest.approx(0.01) and m["psnr_hole"] == pytest.approx(20.0)
    assert m["l2_image"] == pytest.approx(0.01 * hole.mean())
    assert m["psnr_image"] == pytest.approx(20.0 - 10 * np.log10(hole.mean()))
    assert fill_metrics(truth, truth, hole)["ssim_hole"] == pytest.approx(1.0)


def test_biharmonic_reproduces_a_smooth_ramp_and_keeps_known_pixels():
    yy, xx = np.mgrid[0:48, 0:48] / 47.0
    img = (0.3 * yy + 0.5 * xx)[None, ..., None]
    holes = center_box(48, 48, size=12)[None]
    broken = img.copy()
    broken[0, holes[0]] = 0.0
    out = biharmonic(broken, holes)
    assert np.abs(out - img).max() < 1e-3
    metrics, _, _ = score(biharmonic, img, holes)
    assert metrics["psnr_hole"] > 50


def test_report_has_a_row_per_method(tmp_path):
    row = {k: 0.5 for k in ("psnr_hole", "ssim_hole", "l2_hole", "psnr_image", "ssim_image", "l2_image")}
    row.update({f"{k}_std": 0.1 for k in list(row)})
    results = {"mask_sets": {"center64": {"hole_fraction": 0.0625, "biharmonic": row, "model": row}}}
    text = markdown_table(results)
    assert "| biharmonic |" in text and "| model |" in text and "6.2 %" in text
    json_path, md_path = write_report(results, tmp_path / "r", "# t\n")
    assert json.loads(json_path.read_text()) == results and md_path.read_text().startswith("# t")
