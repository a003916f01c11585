"""``geocolor evaluate`` end to end: a small NAIP dataset, a tiny seeded model, JSON and HTML out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from geocolor.cli import cli
from geocolor.files import write_json_atomic
from geocolor.metrics.evaluate import BASELINES, evaluate, model_names
from geocolor.metrics.inputs import load_dataset
from tests.conftest import make_tiny_model, shared, write_tif

NAIP = "naip/m_4709963_se_14_1_20090818.tif"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """128-px chips of one real NAIP quarter-quad (about 6 test chips), built with the dataset CLI."""
    out = tmp_path_factory.mktemp("eval") / "ds"
    cmd = [sys.executable, "-m", "geocolor.cli", "-q", "dataset", str(shared(NAIP)), str(out), "--bands", "1,2,3",
           "--size", "128", "--block-size", "1280", "--split-gap", "0", "--split", "0.6,0.2,0.2", "--seed", "1", "--preview", "0"]
    subprocess.run(cmd, check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("models") / "tiny.pt")


def test_evaluate_library_baselines_and_figures(dataset, tiny):
    from geocolor.models import load

    data = load_dataset(dataset, "test")
    result = evaluate(data, {"tiny": load(tiny, device="cpu")})
    fig = result.figures
    assert set(fig["methods"]) == {"gray", "mean_color", "oracle_mean_color", "tiny"}
    n = fig["n_chips"]
    assert n == len(data.samples) >= 2
    for d in fig["methods"].values():
        assert len(d["per_chip"]) == n
        for key in ("psnr", "ssim", "delta_e2000", "psnr_ab", "ssim_ab", "colourfulness", "colourfulness_diff",
                    "colourfulness_ratio"):
            assert key in d["summary"] and f"{key}_std" in d["summary"]
    assert fig["methods"]["gray"]["summary"].get("false_colour", 0.0) == 0.0  # gray paints nothing
    oracle, train_mean = fig["methods"]["oracle_mean_color"]["summary"], fig["methods"]["mean_color"]["summary"]
    assert oracle["delta_e2000"] <= train_mean["delta_e2000"] + 1e-9  # each chip's own mean colour is the better flat guess
    assert set(fig["distribution"]["false_colour_pooled"]["values"]) <= set(fig["methods"])
    assert fig["methods"]["gray"]["summary"]["colourfulness"] < 0.5  # a*b* = 0 is gray up to rounding
    assert fig["methods"]["gray"]["summary"]["colourfulness_diff"] == pytest.approx(
        fig["methods"]["gray"]["summary"]["colourfulness"] - fig["truth"]["colourfulness"], abs=1e-6)
    assert fig["ab_mean_source"].startswith("mean a*b* of the dataset's train split")
    assert fig["distribution"]["fid"]["status"].startswith("skipped:")
    assert fig["distribution"]["lpips"]["status"].startswith("skipped:")


def test_json_is_atomic_and_strict(tmp_path):
    write_json_atomic(tmp_path / "m.json", {"a": 1})
    with pytest.raises(ValueError):
        write_json_atomic(tmp_path / "m.json", {"a": float("inf")})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_model_names_unique():
    assert model_names(["a/best.pt", "b/best.pt", "gray.pt"]) == ["best", "best-2", "gray-2"]
    assert model_names(["a/best.pt", "b/best.pt", "c/best.pt"], ["unet", None, "unet"]) == ["unet", "best", "unet-2"]


def test_cli_two_models_with_run_folder(dataset, tiny, tmp_path, monkeypatch):
    monkeypatch.delenv("GEOCOLOR_WEIGHTS_DIR", raising=False)
    run = tmp_path / "run"
    run.mkdir()
    recs = [{"step": s, "model": {"delta_e2000": 12 - s / 100}, "gray": {"delta_e2000": 14.0}} for s in (100, 200)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    out = tmp_path / "report"
    res = CliRunner().invoke(cli, ["evaluate", "--model", str(tiny), "--model", str(tiny), "--data", str(dataset),
                                   "--out", str(out), "--run", str(run), "--weights-dir", str(tmp_path / "none"), "-k", "2"])
    assert res.exit_code == 0, res.output
    fig = json.loads((out / "metrics.json").read_text())
    assert {"mode", "n_chips", "methods", "distribution", "truth", "metrics"} <= set(fig)
    assert set(fig["methods"]) == {*BASELINES, "tiny", "tiny-2"}
    assert fig["methods"]["tiny"]["path"] == str(tiny)
    assert fig["methods"]["tiny"]["summary"] == fig["methods"]["tiny-2"]["summary"]
    page = (out / "report.html").read_text()
    assert '<table id="metrics">' in page and "mean_color" in page and "tiny-2" in page
    assert "FID</b>: skipped: no Inception-v3 weights" in page and str(tmp_path / "none") in page
    for png in ("boxplots", "worst_tiny", "best_tiny", "training_heldout_delta_e"):
        assert (out / f"{png}.png").is_file()
    assert "http" not in page.replace("http-equiv", "")  # opens offline: nothing fetched
    assert "FID: skipped" in res.output


def test_cli_image_folder_without_truth(tmp_path, tiny):
    from PIL import Image

    folder = tmp_path / "paintings"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (40, 56), dtype=np.uint8)).save(folder / f"p{i}.png")
    out = tmp_path / "rep"
    res = CliRunner().invoke(cli, ["evaluate", "--model", str(tiny), "--data", str(folder), "--out", str(out)])
    assert res.exit_code == 0, res.output
    fig = json.loads((out / "metrics.json").read_text())
    assert fig["mode"] == "images" and not fig["has_truth"]
    assert set(fig["methods"]["tiny"]["summary"]) == {"colourfulness", "colourfulness_std"}
    assert fig["methods"]["tiny"]["summary"]["colourfulness"] > 0
    assert fig["distribution"]["fid"]["status"] == "skipped: no colour truth or --reference to compare with"
    assert (out / "grid_tiny.png").is_file()


def test_cli_geotiff_pair(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(shared(NAIP)) as src:
        rgb = src.read([1, 2, 3], window=((0, 256), (0, 384)))
    transform = from_origin(485900.0, 5209247.0, 1.0, 1.0)
    truth = write_tif(tmp_path / "truth.tif", rgb, "EPSG:26914", transform)
    output = write_tif(tmp_path / "out.tif", rgb, "EPSG:26914", transform)
    out = tmp_path / "rep"
    res = CliRunner().invoke(cli, ["evaluate", "--pair", str(output), str(truth), "--chip-size", "128", "--out", str(out)])
    assert res.exit_code == 0, res.output
    fig = json.loads((out / "metrics.json").read_text())
    assert fig["mode"] == "pair" and fig["n_chips"] == 6
    chip = fig["methods"]["output"]["per_chip"][0]
    assert chip["psnr"] == "inf" and chip["delta_e2000"] == 0.0 and chip["ssim"] == pytest.approx(1.0)
    assert fig["methods"]["gray"]["summary"]["delta_e2000"] > 0


def test_cli_needs_data_or_pair(tmp_path):
    res = CliRunner().invoke(cli, ["evaluate", "--out", str(tmp_path / "x")])
    assert res.exit_code != 0 and "--data" in res.output


def test_pair_with_a_file_that_is_not_a_raster_is_one_line(tmp_path):
    (tmp_path / "notes.tif").write_text("not an image")
    res = CliRunner().invoke(cli, ["evaluate", "--pair", str(tmp_path / "notes.tif"), str(tmp_path / "notes.tif"),
                                   "--out", str(tmp_path / "rep")])
    assert res.exit_code != 0 and "is not a raster GDAL can read" in str(res.exception)
