"""``geocolor run PIPELINE.yaml`` against a real TiTiler on loopback: harvest -> dataset -> train -> mosaic,
each output feeding the next; a rerun skips the finished steps; a bad pipeline file is one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import rasterio
import yaml
from harvest_helpers import SAMPLE_AOI, caps_url, layer_name

from geocolor.errors import ConfigError
from geocolor.pipeline import load_pipeline, run_pipeline

REPO = Path(__file__).resolve().parents[2]


def write_pipeline(folder: Path, base_url: str, gray: Path) -> Path:
    tree = {
        "name": "tiny_area",
        "workdir": "work",
        "steps": {
            "tiles": {"harvest": {"url": caps_url(base_url), "layer": layer_name("WebMercatorQuad"), "aoi": str(SAMPLE_AOI),
                                  "zoom": "15"}},
            "chips": {"dataset": {"src": ["$tiles"], "size": 128}},
            "model": {"train": {"data": "$chips", "steps": 2, "set": {"model.ngf": 8, "model.ndf": 8, "eval_every": 2,
                                                                         "threads": 1}}},
            "colour": {"mosaic": {"input": str(gray), "model": "$model"}},
        },
    }
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


def test_a_pipeline_chains_its_steps_and_a_rerun_skips_them(titiler, gray_uint8_twd97, tmp_path):
    path = write_pipeline(tmp_path, titiler, gray_uint8_twd97)
    reports = run_pipeline(path)
    assert [(r.id, r.skipped) for r in reports] == [("tiles", False), ("chips", False), ("model", False), ("colour", False)]
    tiles, chips, model, colour = (r.output for r in reports)
    assert tiles.name == "tiles.vrt" and (chips / "manifest.csv").exists() and model.name == "best.pt"
    from geocolor.models.io import read_model_file

    meta = read_model_file(model)["metadata"]
    assert meta["tile_size"] == 128 and meta["architecture"]["generator"] == "unet_128", "the train step took the chips' size"
    with rasterio.open(gray_uint8_twd97) as src, rasterio.open(colour) as dst:
        assert (dst.crs, dst.transform, dst.count) == (src.crs, src.transform, 3)
    again = run_pipeline(path)
    assert all(r.skipped for r in again) and [r.output for r in again] == [tiles, chips, model, colour]
    tree = yaml.safe_load(path.read_text())
    tree["steps"]["colour"]["mosaic"]["dodge"] = 20.0  # a changed step runs again; the ones before it do not
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    third = run_pipeline(path)
    assert [r.skipped for r in third] == [True, True, True, False]
    tree["steps"]["model"]["train"]["set"]["optim.lr"] = 0.0001  # a retrained model recolours the scan
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    fourth = run_pipeline(path)
    assert [r.skipped for r in fourth] == [True, True, False, False]
    # another recipe trains afresh (not a resume of the old run), and the old run is kept beside it
    kept = [p.name for p in model.parents[0].parent.iterdir() if p.name.startswith(f"{model.parent.name}.before-")]
    assert len(kept) == 1 and (model.parent.parent / kept[0] / "best.pt").exists()
    def logged_steps(run: Path) -> list[int]:
        return [int(r.split(",")[0]) for r in (run / "losses.csv").read_text().splitlines()[1:]]

    assert logged_steps(model.parent) == logged_steps(model.parent.parent / kept[0])  # a whole run of its own
    assert yaml.safe_load((model.parent / "config.yaml").read_text())["optim"]["lr"] == 0.0001
    assert yaml.safe_load((model.parent.parent / kept[0] / "config.yaml").read_text())["optim"]["lr"] == 0.0002


@pytest.mark.parametrize("steps, message", [
    ({"a": {"harvst": {"zoom": "1"}}}, "step a: unknown step kind 'harvst'; choose one of harvest, dataset"),
    ({"a": {"mosaic": {"model": "m.pt"}}}, "step a: mosaic needs input"),
    ({"a": {"train": {"steps": "many"}}}, "steps.a.train.steps must be int, got 'many'"),
    ({"a": {"mosaic": {"input": "x.tif", "colour": 1}}}, "unknown key(s) colour in steps.a.mosaic"),
    ({"a": {"mosaic": {"input": "$b"}}, "b": {"mosaic": {"input": "x.tif"}}}, "step a: input refers to $b, which is not an earlier step"),
    ([], "steps must be a mapping of step ids to steps"),
])
def test_a_bad_pipeline_file_is_one_line_before_anything_runs(tmp_path, steps, message):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "steps": steps}))
    with pytest.raises(ConfigError) as err:
        load_pipeline(path)
    assert message in str(err.value) and "\n" not in str(err.value)
    r = subprocess.run([sys.executable, "-m", "geocolor.cli", "run", str(path)], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert r.returncode == 1 and message in r.stderr.strip().splitlines()[-1] and "Traceback" not in r.stderr
    assert not (tmp_path / "runs").exists()


def test_the_area_example_reads_and_names_real_files():
    pipe = load_pipeline(REPO / "pipelines" / "area_example.yaml")
    assert [(s.id, s.kind) for s in pipe.steps] == [("tiles", "harvest"), ("chips", "dataset"), ("model", "train"), ("colour", "mosaic")]
    harvest = pipe.steps[0].options
    served = harvest.url.split("url=", 1)[1].split("&", 1)[0]
    assert Path(served).exists() and harvest.layer.startswith(served)
    assert (pipe.base / pipe.steps[3].options.input).exists() and (pipe.base / harvest.aoi).exists()
