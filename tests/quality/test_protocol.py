"""The unseen-ground protocol: crops without nodata, baselines, targets and the runnable script."""

import json
import subprocess
import sys

import numpy as np
import pytest

from geocolor.quality.catalog import load_catalog
from geocolor.quality.protocol import crop_size, evaluate_sources, source_crops, targets_met
from tests.conftest import REPO, shared


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """Two held-out 'sources' cut from real colour imagery (NAIP 2020 and a NEON plot), one with a nodata corner."""
    import rasterio

    root = tmp_path_factory.mktemp("cat")
    with rasterio.open(shared("naip/m_4709963_se_14_1_20200831.tif")) as ds:
        naip = ds.read([1, 2, 3], window=((0, 600), (0, 700)))
    naip[:, :300, :300] = 0  # a black no-data corner, as plain JPEG sources have
    with rasterio.open(shared("neon_plots/TEAK_045.tif")) as ds:
        teak = ds.read([1, 2, 3])
    for name, arr in (("naip.tif", naip), ("teak.tif", teak), ("val.tif", teak[:, ::-1])):
        with rasterio.open(root / name, "w", driver="GTiff", width=arr.shape[2], height=arr.shape[1], count=3, dtype="uint8") as dst:
            dst.write(arr)
    (root / "cat.yaml").write_text(
        "sources:\n  - {name: farm, files: [naip.tif], gsd: 5, role: test, cover: farmland}\n"
        "  - {name: forest, files: [teak.tif], gsd: 0.1, role: test}\n"
        "  - {name: checkpoints, files: [val.tif], gsd: 0.1, role: val}\n"
    )
    return root


def test_crop_size():
    assert crop_size(400, 400, 512) == 384 and crop_size(2000, 900, 512) == 512 and crop_size(100, 100, 512) == 128


def test_crops_avoid_nodata_and_are_seeded(catalog):
    src = load_catalog(catalog / "cat.yaml").source("farm")
    crops = source_crops(src, per_source=6, size=256)
    assert len(crops) == 3 and all(c.truth.shape == (256, 256, 3) for c in crops)  # the only windows clear of the corner
    assert all(c.truth.max(axis=-1).min() > 0 for c in crops)  # no black no-data pixel in any crop
    assert [c.id for c in crops] == [c.id for c in source_crops(src, per_source=6, size=256)]


def test_baselines_models_and_targets(catalog, tiny_model):
    from geocolor.models import load

    results = evaluate_sources(load_catalog(catalog / "cat.yaml"), {"tiny": load(tiny_model, device="cpu")}, per_source=4, size=256)
    assert [r.source.name for r in results] == ["farm", "forest"]  # test sources only, never val
    for r in results:
        f = r.figures
        assert set(f) == {"gray", "oracle_mean_color", "training_mean_color", "tiny", "tiny+ref"}
        assert f["gray"]["false_colour"] == 0.0 and f["gray"]["colourfulness_ratio"] < 0.02
        assert f["oracle_mean_color"]["delta_e2000"] < f["gray"]["delta_e2000"]
        # an untrained network with random colours is worse than the flat oracle: no target on PSNR / CIEDE2000
        ok = targets_met(f["tiny"], f["oracle_mean_color"])
        assert not ok["psnr"] and not ok["delta_e2000"]
    perfect = {"psnr": 40.0, "delta_e2000": 1.0, "false_colour": 0.0, "colourfulness_ratio": 1.0}
    assert all(targets_met(perfect, {"psnr": 30.0, "delta_e2000": 5.0}).values())
    assert not targets_met({**perfect, "false_colour": 0.03}, {"psnr": 30.0, "delta_e2000": 5.0})["false_colour"]


def test_reference_matching_uses_the_other_crops_only():
    from geocolor.color import rgb_to_lab
    from geocolor.quality.protocol import Crop, reference_matched

    rng = np.random.default_rng(0)
    base = rng.integers(60, 200, (64, 64, 1)).astype(np.uint8)
    green = np.concatenate([base - 30, base + 20, base - 40], axis=-1).clip(0, 255).astype(np.uint8)
    red = np.concatenate([base + 40, base - 20, base - 20], axis=-1).clip(0, 255).astype(np.uint8)
    gray = np.repeat(base, 3, axis=-1) + rng.integers(0, 6, (64, 64, 3)).astype(np.uint8)  # a weakly tinted prediction
    out = reference_matched([gray, gray], [Crop("g", green), Crop("r", red)])

    def mean_ab(img):
        return np.asarray(rgb_to_lab(img.astype(np.float32) / 255.0))[..., 1:].reshape(-1, 2).mean(0)

    # crop 0 is matched to crop 1's (red) palette and crop 1 to crop 0's (green): never to its own colours
    assert mean_ab(out[0])[0] > 10 and mean_ab(out[1])[0] < -5
    np.testing.assert_allclose(mean_ab(out[0]), mean_ab(red), atol=4)


def test_script_prints_tables_and_writes_report(catalog, tiny_model, tmp_path):
    out = tmp_path / "report"
    r = subprocess.run(
        [sys.executable, str(REPO / "pipelines/quality/evaluate.py"), "--catalog", str(catalog / "cat.yaml"),
         "--model", f"tiny={tiny_model}", "--per-source", "2", "--size", "256", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "### farm" in r.stdout and "### forest" in r.stdout and "oracle_mean_color" in r.stdout
    report = json.loads((out / "quality.json").read_text())
    assert [s["source"] for s in report["sources"]] == ["farm", "forest"]
    assert set(report["sources"][0]["targets_met"]["tiny"]) == {"psnr", "delta_e2000", "false_colour", "colourfulness_ratio"}
    assert (out / "farm.jpg").stat().st_size > 1000 and "# Colour quality on unseen ground" in (out / "quality.md").read_text()
