"""build_dataset end to end on real rasters: filters, georeferencing in the manifest, re-runs and resumes."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import rasterio
from rasterio.windows import from_bounds

from geocolor.dataset.config import FilmConfig, FilterConfig
from geocolor.dataset.film import degrade
from geocolor.dataset.gray import gray_converter
from geocolor.dataset.io import read_png
from geocolor.dataset.layouts import read_manifest
from geocolor.errors import InputError, OutputExistsError
from tests.dataset.conftest import (
    BLANK,
    CHIP,
    CLOUD,
    DUPLICATE,
    DUPLICATE_OF,
    NODATA_CHIPS,
    PARTIAL_KEPT,
    PARTIAL_SKIPPED,
    build,
)


def chip_id(stem: str, rc: tuple[int, int]) -> str:
    return f"{stem}_{rc[0]:06d}_{rc[1]:06d}"


@pytest.fixture(scope="module")
def planted_ds(planted, tmp_path_factory):
    out = tmp_path_factory.mktemp("planted_ds") / "ds"
    result = build(planted, out, split=[1, 0, 0], layouts=["manifest"])
    return out, result, {r["id"]: r for r in read_manifest(out)}


def test_nodata_blank_cloud_and_duplicate_chips_are_skipped(planted_ds):
    out, result, records = planted_ds
    for rc in NODATA_CHIPS + [PARTIAL_SKIPPED]:
        assert chip_id("planted", rc) not in records
    assert chip_id("planted", BLANK) not in records
    assert chip_id("planted", CLOUD) not in records
    assert (chip_id("planted", DUPLICATE_OF) in records) != (chip_id("planted", DUPLICATE) in records)
    assert result.skipped["nodata"] >= len(NODATA_CHIPS) + 1
    assert result.skipped["blank"] >= 1 and result.skipped["cloud"] >= 1 and result.skipped["duplicate"] >= 1
    assert json.loads((out / "stats.json").read_text())["skipped"] == result.skipped


def test_a_chip_with_a_little_nodata_is_kept_with_its_nodata_black(planted_ds):
    out, _, records = planted_ds
    rec = records[chip_id("planted", PARTIAL_KEPT)]
    assert rec["valid_frac"] == pytest.approx(62 / 64)
    colour = read_png(out / "chips" / "color" / f"{rec['id']}.png")
    gray = read_png(out / "chips" / "gray" / f"{rec['id']}.png")
    assert not colour[:2].any() and not gray[:2].any()
    assert colour[2:].any()


def test_manifest_crs_and_bounds_match_the_source_windows(planted, planted_ds):
    out, _, records = planted_ds
    to_gray = gray_converter("lstar")
    with rasterio.open(planted) as ds:
        for rec in list(records.values())[::7]:
            assert rec["crs"] == ds.crs.to_string() == "EPSG:26914"
            win = from_bounds(rec["left"], rec["bottom"], rec["right"], rec["top"], ds.transform)
            assert (round(win.row_off), round(win.col_off)) == (rec["row_off"], rec["col_off"])
            assert (round(win.height), round(win.width)) == (rec["height"], rec["width"]) == (CHIP, CHIP)
            assert rec["res_x"] == ds.res[0] and rec["source"] == str(planted)
            source = ds.read([1, 2, 3], window=win).transpose(1, 2, 0)
            colour = read_png(out / "chips" / "color" / f"{rec['id']}.png")
            if rec["valid_frac"] == 1.0:
                assert np.array_equal(colour, source)  # the colour target is the clean source window
                # the gray input is this window's L* gray, degraded with the chip's own seed
                gray = read_png(out / "chips" / "gray" / f"{rec['id']}.png")
                assert not np.array_equal(gray, to_gray(source))
                assert np.array_equal(gray, degrade(to_gray(source), FilmConfig(), 0, rec["id"]))


def test_rerun_is_a_no_op_and_a_killed_build_resumes(naip, tmp_path):
    out = tmp_path / "ds"
    first = build(naip, out, split=[1, 0, 0])
    files = sorted(p for p in out.rglob("*.png"))
    mtimes = {p: p.stat().st_mtime_ns for p in files}
    again = build(naip, out, split=[1, 0, 0])
    assert again.up_to_date and again.counts == first.counts
    assert {p: p.stat().st_mtime_ns for p in files} == mtimes

    # Simulate a build killed half-way: the last journal lines and their files never happened.
    journal = (out / ".journal.jsonl").read_text().splitlines()
    half = len(journal) // 2
    lost = [json.loads(line)["id"] for line in journal[half:] if '"kept"' in line]
    (out / ".journal.jsonl").write_text("\n".join(journal[:half]) + "\n" + journal[half][:20])  # torn last line
    for chip in lost:
        for p in out.glob(f"**/{chip}.png"):
            p.unlink()
    state = json.loads((out / "dataset.json").read_text())
    (out / "dataset.json").write_text(json.dumps({**state, "complete": False}))
    kept_before = {p: p.stat().st_mtime_ns for p in out.glob("chips/color/*.png")}
    resumed = build(naip, out, split=[1, 0, 0])
    assert resumed.counts == first.counts and not resumed.up_to_date
    assert all(p.stat().st_mtime_ns == t for p, t in kept_before.items())  # finished chips not redone
    assert all((out / "chips" / "color" / f"{chip}.png").is_file() for chip in lost)
    assert len(read_manifest(out)) == sum(first.counts.values())


def test_builds_are_deterministic(naip, tmp_path):
    build(naip, tmp_path / "a", split=[1, 0, 0], layouts=["manifest"])
    build(naip, tmp_path / "b", split=[1, 0, 0], layouts=["manifest"])
    names = sorted(os.listdir(tmp_path / "a" / "chips" / "gray"))
    assert names == sorted(os.listdir(tmp_path / "b" / "chips" / "gray"))
    for name in names[::10]:
        assert (tmp_path / "a/chips/gray" / name).read_bytes() == (tmp_path / "b/chips/gray" / name).read_bytes()


def test_other_settings_need_overwrite_and_foreign_folders_are_refused(naip, tmp_path):
    out = tmp_path / "ds"
    build(naip, out, split=[1, 0, 0], degrade="none")
    with pytest.raises(OutputExistsError, match="different settings.*degrade"):
        build(naip, out, split=[1, 0, 0])
    (out / "notes.txt").write_text("mine")
    result = build(naip, out, split=[1, 0, 0], overwrite=True)
    assert not result.up_to_date and (out / "notes.txt").read_text() == "mine"  # only our files were replaced
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    with pytest.raises(OutputExistsError, match="not a geocolor dataset"):
        build(naip, foreign, overwrite=True)
    assert (foreign / "thesis.docx").read_text() == "precious"


def test_a_folder_of_tiles_is_one_seamless_source(naip, tile_folder, tmp_path):
    whole = build(naip, tmp_path / "whole", split=[1, 0, 0], degrade="none", layouts=["manifest"])
    tiled = build(tile_folder, tmp_path / "tiled", split=[1, 0, 0], degrade="none", layouts=["manifest"])
    assert tiled.counts == whole.counts
    a = {(r["row_off"], r["col_off"]): r for r in read_manifest(tmp_path / "whole")}
    b = {(r["row_off"], r["col_off"]): r for r in read_manifest(tmp_path / "tiled")}
    assert a.keys() == b.keys()
    crossing = (448, 448)  # this chip spans all four tiles (cut at row 400, column 500)
    assert crossing in b
    ca = read_png(tmp_path / "whole/chips/color" / f"{a[crossing]['id']}.png")
    cb = read_png(tmp_path / "tiled/chips/color" / f"{b[crossing]['id']}.png")
    assert np.array_equal(ca, cb)
    assert (b[crossing]["left"], b[crossing]["top"]) == (a[crossing]["left"], a[crossing]["top"])


def test_real_gray_photos_become_domain_a(naip, pan, tmp_path):
    out = tmp_path / "ds"
    result = build(naip, out, split=[0.6, 0.2, 0.2], block_size=960.0, unpaired_a=[str(pan)], layouts=["unpaired"])
    assert result.real_a_counts["train"] > 0 and sum(result.real_a_counts.values()) > result.real_a_counts["train"]
    real = [r for r in read_manifest(out) if r["domain"] == "real_a"]
    assert real and all(r["id"].startswith("real_pan1_") and r["crs"] == "EPSG:32631" for r in real)
    chip = read_png(out / "unpaired" / f"{real[0]['split']}A" / f"{real[0]['id']}.png")
    assert chip.shape == (CHIP, CHIP) and chip.std() > 2  # 16-bit gray stretched to 8 bits
    assert not list((out / "unpaired").glob("*B/real_*"))  # real photos have no colour side


def test_bad_inputs_are_one_line_errors(naip, no_crs, pan, tmp_path):
    (tmp_path / "text.tif").write_text("not a raster")
    cases = [
        ({"src": tmp_path / "text.tif"}, "is not a raster GDAL can read"),
        ({"src": tmp_path / "missing.tif"}, "does not exist"),
        ({"src": no_crs}, "has no CRS.*--split 1,0,0"),
        ({"src": pan}, "colour chips need bands"),
        ({"src": naip, "size": 4096}, "lower --size"),
        ({"src": naip, "split": [1, 0, 0], "filters": FilterConfig(min_std=500)},
         "no chip is left after filtering"),
    ]
    for i, (kw, message) in enumerate(cases):
        src = kw.pop("src")
        with pytest.raises(InputError, match=message) as info:
            build(src, tmp_path / f"out{i}", **kw)
        assert "\n" not in str(info.value)
    assert build(no_crs, tmp_path / "nocrs_ok", split=[1, 0, 0]).counts["train"] == 16  # no CRS is fine in one split


def test_a_vrt_is_chipped_like_the_raster_it_points_to(naip, tmp_path):
    with rasterio.open(naip) as ds:
        t = ds.transform
        bands = "".join(
            f'<VRTRasterBand dataType="Byte" band="{b}"><NoDataValue>0</NoDataValue><SimpleSource>'
            f'<SourceFilename relativeToVRT="0">{naip}</SourceFilename><SourceBand>{b}</SourceBand>'
            f'<SrcRect xOff="128" yOff="64" xSize="320" ySize="256"/><DstRect xOff="0" yOff="0" xSize="320" ySize="256"/>'
            f"</SimpleSource></VRTRasterBand>" for b in (1, 2, 3))
        vrt = (f'<VRTDataset rasterXSize="320" rasterYSize="256"><SRS>{ds.crs.to_wkt()}</SRS>'
               f"<GeoTransform>{t.c + 128 * t.a}, {t.a}, 0, {t.f + 64 * t.e}, 0, {t.e}</GeoTransform>{bands}</VRTDataset>")
    (tmp_path / "part.vrt").write_text(vrt)
    build(tmp_path / "part.vrt", tmp_path / "ds", split=[1, 0, 0], degrade="none", layouts=["manifest"])
    records = read_manifest(tmp_path / "ds")
    assert len(records) == 20  # 5 x 4 chips of 64 px
    rec = next(r for r in records if (r["row_off"], r["col_off"]) == (64, 128))
    with rasterio.open(naip) as ds:
        source = ds.read([1, 2, 3], window=from_bounds(rec["left"], rec["bottom"], rec["right"], rec["top"], ds.transform))
    assert np.array_equal(read_png(tmp_path / "ds/chips/color" / f"{rec['id']}.png"), source.transpose(1, 2, 0))


def test_a_geographic_raster_is_split_in_a_utm_zone(naip, tmp_path):
    """NAIP pixels given a plausible lon/lat grid (about 4 m pixels near 47 N, 99 W): a test-only georeference."""
    from rasterio.transform import from_origin

    with rasterio.open(naip) as ds:
        data, profile = ds.read([1, 2, 3]), ds.profile
    profile.update(count=3, crs="EPSG:4326", transform=from_origin(-99.30, 47.10, 0.00005, 0.00004))
    with rasterio.open(tmp_path / "geo.tif", "w", **profile) as dst:
        dst.write(data)
    build(tmp_path / "geo.tif", tmp_path / "ds", split=[0.6, 0.2, 0.2], block_size=800.0, degrade="none", layouts=["manifest"])
    stats = json.loads((tmp_path / "ds" / "stats.json").read_text())
    assert stats["split"]["crs"] == "EPSG:32614" and stats["split"]["unit"] == "m"
    assert stats["leakage"]["ok"] and stats["leakage"]["min_distance"] > 0
    assert {r["crs"] for r in read_manifest(tmp_path / "ds")} == {"EPSG:4326"}  # chips keep the source CRS
