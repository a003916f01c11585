"""The README's path for a newcomer, with default options: harvest a real WMTS layer, build a dataset
from the harvest folder, train on it without a config, colour a raster with the result."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from harvest_helpers import caps_url, layer_name

from geocolor.cli import cli
from tests.conftest import REPO


@pytest.mark.slow
def test_harvest_dataset_train_mosaic_with_defaults(titiler, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(cli, ["-q", "harvest", "--url", caps_url(titiler), "--layer", layer_name("WebMercatorQuad"),
                            "--aoi", str(REPO / "sample_shapefiles" / "naip_aoi.shp"), "--zoom", "15", "--out", "naip_tiles"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "naip_tiles" / "tiles.vrt").is_file()  # the file the README's dataset example names
    r = runner.invoke(cli, ["-q", "dataset", "naip_tiles/tiles.vrt", "data", "--preview", "0"])
    assert r.exit_code == 0, r.output  # default chip and block sizes give every split chips
    r = runner.invoke(cli, ["-q", "train", "--data", "data", "--steps", "2", "--set", "model.ngf=8", "--set", "model.ndf=8",
                            "--set", "eval_every=2", "--set", "data.batch_size=2"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["-q", "mosaic", "naip_tiles/tiles.vrt", "colour.tif", "--model", "runs/data/last.pt"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "colour.tif").is_file()
