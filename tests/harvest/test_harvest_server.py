"""Harvests from a real TiTiler WMTS server: the right tiles, the right georeference, a VRT that gives
back the source pixels, non-WebMercator grids, XYZ, resuming, and the CLI's contract and errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from harvest_helpers import (
    NAIP,
    SAMPLE_AOI,
    caps_url,
    layer_name,
    reference_tiles,
    run_cli,
    sample_config,
    tile_georef_errors,
    vrt_source_agreement,
)

from geocolor.aoi import AOI, aoi_from_file
from geocolor.harvest import HarvestConfig, harvest
from geocolor.harvest.tiles import file_checksum


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def test_clean_run_gets_exactly_the_tiles_under_the_polygon(clean_run) -> None:
    config, result = clean_run
    expected = reference_tiles("WebMercatorQuad", 15, aoi_from_file(SAMPLE_AOI))
    m = manifest(config.out)
    assert {(t["col"], t["row"]) for t in m["tiles"]} == expected
    assert result.fetched == len(expected) == m["counts"]["ok"] and result.failed == 0
    assert m["crs"] == "EPSG:3857" and m["tms"] == "WebMercatorQuad" and m["zoom"] == "15"
    for t in m["tiles"]:
        assert t["url"].startswith("http://127.0.0.1:") and f"/15/{t['col']}/{t['row']}.png" in t["url"]
        assert file_checksum(config.out / t["path"]) == (t["sha256"], t["size"])


def test_every_tile_is_georeferenced_by_the_tms(clean_run) -> None:
    config, _ = clean_run
    for t in manifest(config.out)["tiles"]:
        assert tile_georef_errors(config.out / t["path"], "WebMercatorQuad", 15, t["col"], t["row"]) == []
        assert t["bounds"] == pytest.approx(list(rasterio.open(config.out / t["path"]).bounds))


def test_vrt_mosaics_back_to_the_source_pixels(clean_run) -> None:
    config, result = clean_run
    agree, n = vrt_source_agreement(result.vrt, NAIP)
    assert n > 100_000 and agree > 0.99  # nearest-neighbour rendering: equal but for warp rounding
    with rasterio.open(result.vrt) as v:
        assert v.count == 4 and v.crs.to_epsg() == 3857


def test_rerun_fetches_nothing_and_changes_nothing(clean_run) -> None:
    config, first = clean_run
    before = (config.out / "manifest.json").read_bytes()
    again = harvest(config)
    assert again.fetched == 0 and again.skipped == first.total
    assert again.requests == 1  # the capabilities document only
    assert (config.out / "manifest.json").read_bytes() == before


@pytest.mark.parametrize("tms_id,zoom", [("CanadianNAD83_LCC", 17), ("WGS1984Quad", 14)])
def test_non_webmercator_tms(titiler: str, tmp_path: Path, tms_id: str, zoom: int) -> None:
    aoi = aoi_from_file(SAMPLE_AOI)
    left, bottom, right, top = aoi.bounds
    part = AOI(aoi.geometry.intersection(shapely.box(left, bottom, (left + right) / 2, (bottom + top) / 2 + 300)), aoi.crs)
    config = sample_config(titiler, tmp_path / "out", tms=tms_id, zoom=str(zoom), aoi=part)  # the L's south-west: fewer tiles
    result = harvest(config)
    tiles = manifest(config.out)["tiles"]
    assert {(t["col"], t["row"]) for t in tiles} == reference_tiles(tms_id, zoom, config.aoi)
    assert result.counts["ok"] == len(tiles) > 0
    for t in tiles:
        assert tile_georef_errors(config.out / t["path"], tms_id, zoom, t["col"], t["row"]) == []
    agree, n = vrt_source_agreement(result.vrt, NAIP)
    assert n > 30_000 and agree > 0.99


def test_xyz_source_gives_the_same_tiles(proxy_clean_run, titiler: str, tmp_path: Path) -> None:
    wmts_config, _ = proxy_clean_run
    template = f"{titiler}/cog/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}.png?url={NAIP}&bidx=1&bidx=2&bidx=3"
    config = HarvestConfig(out=tmp_path / "xyz", aoi=wmts_config.aoi, zoom="14", xyz=template, rate=None)
    result = harvest(config)
    xyz, wmts = manifest(config.out)["tiles"], manifest(wmts_config.out)["tiles"]
    assert [(t["col"], t["row"]) for t in xyz] == [(t["col"], t["row"]) for t in wmts] and result.failed == 0
    for a, b in zip(xyz, wmts, strict=True):
        with rasterio.open(config.out / a["path"]) as da, rasterio.open(wmts_config.out / b["path"]) as db:
            assert tuple(da.transform) == pytest.approx(tuple(db.transform), rel=1e-9) and np.array_equal(da.read(), db.read())


def test_cli_contract_with_aoi_file(titiler: str, tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "cli"
    code, _, err = run_cli(monkeypatch, capsys, "harvest", "--url", caps_url(titiler), "--layer", layer_name("WebMercatorQuad"),
                           "--aoi", str(SAMPLE_AOI), "--zoom", "14", "--out", str(out), "--workers", "3")
    m = manifest(out)
    assert code == 0, err
    assert "fetched 8" in err and "failed 0" in err and "tiles/s" in err
    assert m["counts"]["ok"] == 8 and len(list((out / "tiles" / "14").rglob("*.tif"))) == 8
    with rasterio.open(out / "tiles.vrt") as v:
        assert v.count == 4 and v.read(4).max() == 255


def test_cli_bbox_in_lonlat(titiler: str, tmp_path: Path, monkeypatch, capsys) -> None:
    aoi = aoi_from_file(SAMPLE_AOI).to_crs("EPSG:4326")
    bbox = ",".join(f"{v:.6f}" for v in aoi.bounds)
    code, _, err = run_cli(monkeypatch, capsys, "-q", "harvest", "--url", caps_url(titiler), "--layer",
                           layer_name("WebMercatorQuad"), "--bbox", bbox, "--bbox-crs", "EPSG:4326", "--zoom", "14",
                           "--out", str(tmp_path / "bbox"))
    assert code == 0, err
    assert manifest(tmp_path / "bbox")["counts"]["ok"] == 9  # the bbox's tiles: one more than the polygon's 8


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--layer", "nope", "--bbox", "-99.16,47.01,-99.15,47.02"], "unknown layer 'nope'; the server offers: .*_WebMercatorQuad_default"),
        (["--layer", "L:WebMercatorQuad", "--bbox", "121.50,25.02,121.53,25.05"], "meets no tile"),
        (["--layer", "L:WebMercatorQuad", "--bbox", "-99.16,47.01,-99.15,47.02", "--zoom", "99"], "valid zooms: WebMercatorQuad: 0..24"),
        (["--layer", "L:WebMercatorQuad", "--bbox", "-99.16,47.01,-99.15,47.02", "--tms", "UTM31WGS84Quad"], "unknown TMS 'UTM31WGS84Quad'.*valid: WebMercatorQuad"),
    ],
)
def test_cli_errors_are_one_line_and_nonzero(titiler: str, tmp_path: Path, monkeypatch, capsys, extra: list[str], message: str) -> None:
    import re

    args = [a.replace("L:WebMercatorQuad", layer_name("WebMercatorQuad")) for a in extra]
    if "--zoom" not in args:
        args += ["--zoom", "15"]
    code, _, err = run_cli(monkeypatch, capsys, "harvest", "--url", caps_url(titiler), *args, "--out", str(tmp_path / "o"))
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and re.search(message, lines[0]), err


def test_cli_list_shows_layers_and_grids(titiler: str, monkeypatch, capsys) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "harvest", "--list", "--url", caps_url(titiler))
    assert code == 0
    assert f"layer {layer_name('CanadianNAD83_LCC')}" in out
    assert "tms:     WebMercatorQuad  http://www.opengis.net/def/crs/EPSG/0/3857  zooms 0..24" in out
