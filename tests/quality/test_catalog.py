"""The leave-source-out catalogue: held-out sources never reach training, scales follow ground sample distance."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from geocolor.errors import ConfigError
from geocolor.quality.catalog import load_catalog, provenance, scales_for, training_sources
from tests.conftest import REPO, SHARED, write_tif

CATALOG = REPO / "pipelines" / "quality" / "catalog.yaml"


@pytest.fixture(scope="module")
def catalog():
    if not SHARED.is_dir():
        pytest.skip(f"shared data {SHARED} not found")
    return load_catalog(CATALOG, root=SHARED)


def test_shipped_split_never_trains_on_held_out_files(catalog):
    held = {f for s in catalog.by_role("val", "test") for f in s.files}
    trained = {e["path"] for e in training_sources(catalog, [0.1, 0.2, 0.4, 0.8, 1.6, 3.2], 256)}
    assert held and trained and not held & trained
    # whole sources, and whole folders for the drone orthomosaics and NEON sites held out
    names = {s.name for s in catalog.by_role("test")}
    assert {"ortho_portugal", "ortho_togo", "neon_teak", "xbd_mexico"} <= names
    assert all("TEAK_" not in Path(f).name for f in trained)
    assert not any("xbd_maxar" in f for f in trained)  # non-commercial terms: never in shipped weights


def test_provenance_names_every_training_source_with_its_licence(catalog):
    rows = provenance(catalog)
    assert {r["source"] for r in rows} == {s.name for s in catalog.by_role("train")}
    assert all(r["licence"] and r["gsd_m"] > 0 and r["files"] > 0 for r in rows)


def test_trainer_data_keeps_held_out_files_out_of_its_crops(tmp_path):
    from geocolor.train.config import config_from_dict
    from geocolor.train.data import ChipData

    rng = np.random.default_rng(0)
    for name in ("a1", "a2", "b1", "c1"):
        write_tif(tmp_path / f"{name}.tif", rng.integers(1, 255, (3, 300, 300), dtype=np.uint8), None, None)
    (tmp_path / "cat.yaml").write_text(
        "root: .\nsources:\n"
        "  - {name: a, files: ['a*.tif'], gsd: 0.1, role: train}\n"
        "  - {name: b, files: [b1.tif], gsd: 0.1, role: val}\n"
        "  - {name: c, files: [c1.tif], gsd: 0.1, role: test}\n"
    )
    cfg = config_from_dict({"data": {"catalog": str(tmp_path / "cat.yaml"), "tile": 128, "batch_size": 4, "gsds": [0.1, 0.2]}, "model": {"generator": "unet_128"}})
    data = ChipData(cfg.data)
    assert {r.name for r in data.train} == {"a1.tif@1", "a1.tif@0.5", "a2.tif@1", "a2.tif@0.5"}
    assert data.test_names and all(n.startswith("b1.tif@1:") for n in data.test_names)  # val only, never test
    assert [s["source"] for s in data.summary] == ["a", "b"]
    assert [p["source"] for p in data.provenance] == ["a", "b"]
    skipped = config_from_dict({"data": {**cfg.data.__dict__, "sources": [{"path": str(tmp_path / "c1.tif"), "split": "train"}],
                                         "catalog_skip": ["a"]}, "model": {"generator": "unet_128"}})
    data = ChipData(skipped.data)
    assert {r.name for r in data.train} == {"c1.tif@1"} and [p["source"] for p in data.provenance] == ["b"]
    with pytest.raises(ConfigError, match="catalog_skip names no source"):
        ChipData(config_from_dict({"data": {**dataclasses.asdict(skipped.data), "catalog_skip": ["zzz"]}, "model": {"generator": "unet_128"}}).data)


def test_a_file_in_two_sources_is_refused(tmp_path):
    write_tif(tmp_path / "x.tif", np.ones((3, 64, 64), np.uint8), None, None)
    (tmp_path / "cat.yaml").write_text(
        "sources:\n  - {name: a, files: ['*.tif'], gsd: 1, role: train}\n  - {name: b, files: [x.tif], gsd: 1, role: test}\n"
    )
    with pytest.raises(ConfigError, match="x.tif is in both a .train. and b .test."):
        load_catalog(tmp_path / "cat.yaml")


@pytest.mark.parametrize(
    "text, message",
    [
        ("sources:\n  - {name: a, files: [none*.tif], gsd: 1, role: train}\n", "no file matches"),
        ("sources:\n  - {name: a, files: [x.tif], gsd: 1, role: holdout}\n", "role must be one of"),
        ("sources:\n  - {name: a, files: [x.tif], gsd: -1, role: train}\n", "gsd a positive number"),
        ("sources: 3\n", "must hold a mapping with a 'sources' list"),
    ],
)
def test_bad_catalogue_one_line(tmp_path, text, message):
    write_tif(tmp_path / "x.tif", np.ones((3, 64, 64), np.uint8), None, None)
    (tmp_path / "cat.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_catalog(tmp_path / "cat.yaml")


def test_scales_for_downsamples_to_coarser_targets_that_hold_a_tile():
    assert scales_for(0.1, [0.1, 0.2, 0.4, 0.8], 2000, 256) == [1.0, 0.5, 0.25]  # 0.8 m: 250 px < 256
    assert scales_for(1.0, [0.1, 0.2, 0.4, 0.8, 1.6, 3.2], 1000, 256) == [1.0, 0.625, 0.3125]
    assert scales_for(1.0, [1.2], 1000, 256) == [1.0]  # a target next to the native gsd adds nothing
    assert scales_for(5.0, [0.1, 3.2], 900, 256) == [1.0]  # never upsampled
