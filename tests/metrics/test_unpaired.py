"""Unpaired evaluation: gray inputs with no truth against real colour chips of the same area.

The gray input is the real 2009 NAIP quarter-quad reduced to its L* (a stand-in for a historical
gray frame of the area; no real historical frame is available offline), the reference is the real
2020 colour NAIP of the same area (4 bands: R, G, B, NIR).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from geocolor.cli import cli
from geocolor.metrics.evaluate import evaluate
from geocolor.metrics.inputs import gray_of, load_unpaired
from tests.conftest import make_tiny_model, shared, write_tif
from tests.metrics.test_frechet import seeded_extractor

GRAY_YEAR = "naip/m_4709963_se_14_1_20090818.tif"
COLOUR_YEAR = "naip/m_4709963_se_14_1_20200831.tif"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("models") / "tiny.pt")


@pytest.fixture(scope="module")
def gray_tif(tmp_path_factory) -> Path:
    import rasterio

    with rasterio.open(shared(GRAY_YEAR)) as src:
        rgb = np.moveaxis(src.read([1, 2, 3], window=((0, 384), (0, 512))), 0, -1)
        transform, crs = src.transform, src.crs
    return write_tif(tmp_path_factory.mktemp("gray") / "gray2009.tif", gray_of(rgb)[None], crs.to_string(), transform)


@pytest.fixture(scope="module")
def soap() -> np.ndarray:
    """The real NEON Soaproot Saddle orthophoto (400 x 400 RGB, not georeferenced as a PNG)."""
    from PIL import Image

    with Image.open(shared("neon/SOAP_031.png")) as im:
        return np.asarray(im.convert("RGB"))


def save_images(folder: Path, images: dict[str, np.ndarray]) -> Path:
    """Write each image as ``folder/name`` (PNG or JPEG by the name's suffix)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for name, img in images.items():
        Image.fromarray(img).save(folder / name, **({"quality": 95} if name.endswith(".jpg") else {}))
    return folder


def test_load_unpaired_chips_and_reference(gray_tif):
    data = load_unpaired(gray_tif, shared(COLOUR_YEAR), size=128, max_chips=5)
    assert data.mode == "unpaired" and not data.has_truth
    assert len(data.samples) == 5 and all(s.gray.shape == (128, 128) and s.truth is None for s in data.samples)
    assert len(data.reference) == 5 and all(r.shape == (128, 128, 3) for r in data.reference)


def test_cli_unpaired_geotiffs(gray_tif, tiny, tmp_path, monkeypatch):
    monkeypatch.delenv("GEOCOLOR_WEIGHTS_DIR", raising=False)
    out = tmp_path / "rep"
    res = CliRunner().invoke(cli, ["evaluate", "--model", str(tiny), "--inputs", str(gray_tif), "--reference",
                                   str(shared(COLOUR_YEAR)), "--chip-size", "128", "--max-chips", "6", "--out", str(out),
                                   "--weights-dir", str(tmp_path / "none"), "-k", "2"])
    assert res.exit_code == 0, res.output
    fig = json.loads((out / "metrics.json").read_text())
    assert fig["mode"] == "unpaired" and fig["n_chips"] == 6 and not fig["has_truth"]
    assert fig["reference"]["n_chips"] == 6 and fig["reference"]["colourfulness"] > 5
    dist = fig["distribution"]
    for key in ("ab_w1", "ab_hist_tv", "colourfulness_gap"):
        assert dist[key]["status"] == "ok" and set(dist[key]["values"]) == {"gray", "mean_color", "tiny"}
    assert dist["ab_w1"]["values"]["gray"] > 1  # real colour is not gray
    assert dist["colourfulness_gap"]["values"]["gray"] < 0  # gray is less colourful than the real chips
    assert dist["fid"]["status"].startswith("skipped: no Inception-v3 weights")
    assert dist["lpips"]["status"].startswith("skipped: no ground truth")
    page = (out / "report.html").read_text()
    assert '<table id="metrics">' in page and "<th>reference</th>" in page
    assert "AB_W1</b>: ok" in page and "FID</b>: skipped" in page
    assert "<b>colourfulness</b>" in page and "<b>psnr</b>" not in page  # the legend explains only the table's columns
    assert (out / "grid_tiny.png").is_file() and (out / "reference.png").is_file() and (out / "boxplots.png").is_file()
    assert "AB_W1" in res.output


def test_unpaired_fid_kid_with_a_feature_network(gray_tif):
    data = load_unpaired(gray_tif, shared(COLOUR_YEAR), size=128, max_chips=8)
    fig = evaluate(data, {}, seeded_extractor(), lpips=(None, "not needed")).figures
    dist = fig["distribution"]
    assert dist["fid"]["status"] == dist["kid"]["status"] == "ok"
    assert dist["fid"]["values"]["gray"] > 0 and np.isfinite(dist["kid"]["values"]["mean_color"])
    assert "unpaired" == fig["mode"] and "reference chips" in dist["ab_w1"]["against"]


def test_cli_folders_of_png_and_jpeg_of_different_sizes(tiny, soap, tmp_path):
    inputs = save_images(tmp_path / "paintings", {"a.png": gray_of(soap[:96, :160]), "b.jpg": gray_of(soap[100:164, 200:264])})
    ref = save_images(tmp_path / "ref", {"c.jpg": soap[200:296, :96], "d.png": soap[300:364, 300:364]})
    out = tmp_path / "rep"
    res = CliRunner().invoke(cli, ["evaluate", "--model", str(tiny), "--inputs", str(inputs), "--reference", str(ref),
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    fig = json.loads((out / "metrics.json").read_text())
    assert fig["n_chips"] == 2 and fig["reference"]["n_chips"] == 2
    assert fig["distribution"]["ab_w1"]["status"] == "ok"
    assert [c["id"] for c in fig["methods"]["tiny"]["per_chip"]] == ["a", "b"]
    assert (out / "grid_tiny.png").is_file() and (out / "reference.png").is_file()


def test_colour_jpeg_folder_has_truth_worst_best(tiny, soap, tmp_path):
    folder = save_images(tmp_path / "colour", {f"c{i}.jpg": soap[i * 100 : i * 100 + 96, :128] for i in range(3)})
    out = tmp_path / "rep"
    res = CliRunner().invoke(cli, ["evaluate", "--model", str(tiny), "--data", str(folder), "--out", str(out), "-k", "1"])
    assert res.exit_code == 0, res.output
    fig = json.loads((out / "metrics.json").read_text())
    assert fig["has_truth"] and fig["methods"]["tiny"]["summary"]["delta_e2000"] > 0
    assert fig["distribution"]["ab_w1"]["against"] == "truth"
    assert (out / "worst_tiny.png").is_file() and (out / "best_tiny.png").is_file()


def test_reference_must_be_colour(gray_tif, tmp_path):
    res = CliRunner().invoke(cli, ["evaluate", "--inputs", str(gray_tif), "--reference", str(gray_tif),
                                   "--out", str(tmp_path / "x")])
    from geocolor.errors import InputError

    assert isinstance(res.exception, InputError)  # main() turns it into one "Error: ..." line and exit 1
    assert "the reference must be a 3-band colour raster" in str(res.exception)


def test_exactly_one_source(gray_tif, tmp_path):
    res = CliRunner().invoke(cli, ["evaluate", "--inputs", str(gray_tif), "--data", str(tmp_path), "--out", str(tmp_path / "x")])
    assert res.exit_code != 0 and "--inputs" in res.output


def test_reference_replaces_truth_with_data(tiny, soap, tmp_path):
    folder = save_images(tmp_path / "colour", {f"c{i}.png": soap[i * 100 : i * 100 + 64, :64] for i in range(2)})
    ref = save_images(tmp_path / "ref", {f"r{i}.png": soap[300:364, i * 100 : i * 100 + 64] for i in range(2)})
    out = tmp_path / "rep"
    res = CliRunner().invoke(cli, ["evaluate", "--model", str(tiny), "--data", str(folder), "--reference", str(ref),
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    fig = json.loads((out / "metrics.json").read_text())
    assert fig["has_truth"] and fig["reference"]["n_chips"] == 2
    assert fig["distribution"]["ab_w1"]["against"] == f"reference chips ({ref})"
    assert "delta_e2000" in fig["methods"]["tiny"]["summary"]  # the paired metrics still use the truth
