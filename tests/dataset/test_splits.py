"""Spatial block splits: whole blocks per split, no held-out chip touching a training chip, reproducible."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio

from geocolor.dataset.layouts import read_manifest
from geocolor.dataset.splits import BlockSplit, box_distance, min_box_distance, plan_blocks
from geocolor.errors import InputError
from tests.dataset.conftest import CHIP, NAIP_2010, build

FRACTIONS = {"train": 0.6, "val": 0.2, "test": 0.2}


def brute_force_min_distance(a: list[tuple[float, ...]], b: list[tuple[float, ...]]) -> float:
    """Plain double loop, independent of the vectorised code under test."""
    best = float("inf")
    for l1, b1, r1, t1 in a:
        for l2, b2, r2, t2 in b:
            dx = max(0.0, l1 - r2, l2 - r1)
            dy = max(0.0, b1 - t2, b2 - t1)
            best = min(best, (dx * dx + dy * dy) ** 0.5)
    return best


def boxes(records, split):
    return [(r["left"], r["bottom"], r["right"], r["top"]) for r in records if r["split"] == split]


def test_box_distance_is_zero_for_touching_and_exact_otherwise():
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    assert box_distance(a, np.array([[10.0, 0.0, 20.0, 10.0]]))[0] == 0.0  # shares an edge
    assert box_distance(a, np.array([[10.0, 10.0, 20.0, 20.0]]))[0] == 0.0  # shares a corner
    assert box_distance(a, np.array([[13.0, 14.0, 20.0, 20.0]]))[0] == pytest.approx(5.0)


def test_min_box_distance_small_and_large_paths_agree_with_brute_force():
    rng = np.random.default_rng(1)
    corners = rng.uniform(0, 5000, size=(2600, 2)).round()
    grid = np.column_stack([corners, corners + 64])
    a, b = grid[:1300], grid[1300:]
    exact = brute_force_min_distance([tuple(x) for x in a[:200]], [tuple(x) for x in b[:200]])
    assert min_box_distance(a[:200], b[:200]) == pytest.approx(exact)
    big_a, big_b = np.tile(a, (3, 1)), np.tile(b, (3, 1))  # 3900 x 3900 > the all-pairs limit: k-d tree path
    assert min_box_distance(big_a, big_b) == pytest.approx(min_box_distance(a, b))
    assert min_box_distance(a, np.empty((0, 4))) == float("inf")


def test_chips_straddling_blocks_of_two_splits_are_dropped_and_held_out_chips_keep_the_gap():
    plan = BlockSplit(block_size=100.0, gap=10.0, origins={"geo": (0.0, 100.0)},
                      assignment={("geo", 0, 0): "train", ("geo", 1, 0): "val", ("geo", 2, 0): "val"})
    assert plan.split_of("geo", (0, 50, 50, 100)) == "train"
    assert plan.split_of("geo", (80, 50, 130, 100)) is None  # straddles train | val
    assert plan.split_of("geo", (100, 50, 150, 100)) is None  # val, but touches the train block
    assert plan.split_of("geo", (115, 50, 165, 100)) == "val"  # 15 m from train: kept
    assert plan.split_of("geo", (250, 50, 299, 100)) == "val"  # near blocks outside the area: fine


def test_plan_blocks_is_reproducible_and_serves_every_split():
    items = [("geo", (x, y, x + 10.0, y + 10.0), 1.0) for x in range(0, 400, 10) for y in range(0, 400, 10)]
    a = plan_blocks(items, 100.0, 5.0, FRACTIONS, seed=3)
    assert a.assignment == plan_blocks(items, 100.0, 5.0, FRACTIONS, seed=3).assignment
    assert a.assignment != plan_blocks(items, 100.0, 5.0, FRACTIONS, seed=4).assignment
    counts = {s: list(a.assignment.values()).count(s) for s in FRACTIONS}
    assert counts == {"train": 10, "val": 3, "test": 3}  # 16 blocks dealt by share


@pytest.mark.parametrize("seed,block", [(0, 1280.0), (5, 960.0)])
def test_split_leakage_is_zero_on_a_real_raster(naip, tmp_path, seed, block):
    result = build(naip, tmp_path / "ds", split=[0.6, 0.2, 0.2], block_size=block, seed=seed)
    records = read_manifest(tmp_path / "ds")
    train, val, test = (boxes(records, s) for s in ("train", "val", "test"))
    assert train and val and test
    for held_out in (val, test):
        assert brute_force_min_distance(train, held_out) > 0  # no val/test chip touches a training chip
    assert brute_force_min_distance(val, test) > 0
    gap = 0.5 * CHIP * 5.0  # default gap: half a chip, in metres (5 m pixels)
    assert brute_force_min_distance(train, val + test) >= gap
    stats = json.loads((tmp_path / "ds" / "stats.json").read_text())
    assert stats["leakage"]["ok"] is True
    assert stats["leakage"]["min_distance"] == pytest.approx(min(brute_force_min_distance(train, val + test),
                                                                  brute_force_min_distance(val, test)))
    # Whole blocks: every chip lies inside one block of the grid, and each block holds one split.
    with rasterio.open(naip) as ds:
        x0, y0 = ds.bounds.left, ds.bounds.top
    per_block: dict[tuple[int, int], set[str]] = {}
    for r in records:
        ix0, ix1 = int((r["left"] - x0) // block), int((r["right"] - x0 - 1e-6) // block)
        iy0, iy1 = int((y0 - r["top"]) // block), int((y0 - r["bottom"] - 1e-6) // block)
        assert (ix0, iy0) == (ix1, iy1)
        per_block.setdefault((ix0, iy0), set()).add(r["split"])
    assert all(len(s) == 1 for s in per_block.values())
    assert sum(result.counts.values()) == len(records)


def test_split_is_reproducible_with_the_seed(naip, tmp_path):
    splits = []
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        build(naip, tmp_path / name, split=[0.6, 0.2, 0.2], block_size=960.0, seed=seed, degrade="none")
        splits.append({r["id"]: r["split"] for r in read_manifest(tmp_path / name)})
    assert splits[0] == splits[1]
    assert splits[0] != splits[2]


def test_same_place_in_two_years_lands_in_one_split(naip, tmp_path):
    if not NAIP_2010.is_file():
        pytest.skip("second NAIP year not available")
    build([naip, NAIP_2010], tmp_path / "ds", split=[0.6, 0.2, 0.2], block_size=960.0, degrade="none")
    records = read_manifest(tmp_path / "ds")
    by_window: dict[tuple[int, int], set[str]] = {}
    for r in records:
        by_window.setdefault((r["row_off"], r["col_off"]), set()).add(r["split"])
    assert len({r["source"] for r in records}) == 2
    assert all(len(s) == 1 for s in by_window.values())


def test_blocks_too_big_for_the_area_say_what_to_do(naip, tmp_path):
    with pytest.raises(InputError, match="leave --block-size out"):
        build(naip, tmp_path / "ds", block_size=100000.0)
    assert not (tmp_path / "ds").exists()  # refused before anything was written


def test_default_block_size_shrinks_until_every_split_gets_chips(naip, tmp_path, caplog):
    """A small area where 10-chip blocks leave val/test empty: the default picks smaller blocks and says so."""
    import rasterio
    from rasterio.windows import Window

    small = tmp_path / "small.tif"
    with rasterio.open(naip) as ds:
        profile = {**ds.profile, "width": 400, "height": 400, "transform": ds.window_transform(Window(0, 0, 400, 400))}
        with rasterio.open(small, "w", **profile) as dst:
            dst.write(ds.read(window=Window(0, 0, 400, 400)))
    with pytest.raises(InputError, match="leave --block-size out"):  # 10 chip widths: 640 px blocks, one split only
        build(small, tmp_path / "fixed", size=64, block_size=10 * 64 * 5.0, split=[0.8, 0.1, 0.1], degrade="none")
    with caplog.at_level("WARNING"):
        result = build(small, tmp_path / "auto", size=64, split=[0.8, 0.1, 0.1], degrade="none")
    assert all(result.counts[s] > 0 for s in ("train", "val", "test")), result.counts
    assert "chip widths) so that train, val, test all get chips" in caplog.text
    with pytest.raises(InputError, match="too small to give"):  # 2 x 1 chips cannot make three splits
        build(small, tmp_path / "tiny", size=200, split=[0.5, 0.25, 0.25], degrade="none")


def test_a_truncated_manifest_is_one_line_for_train_and_evaluate(naip, tmp_path):
    from click.testing import CliRunner

    from geocolor.cli import cli
    from geocolor.models import DEFAULT_MODEL

    build(naip, tmp_path / "ds", split=[0.6, 0.2, 0.2], block_size=960.0, degrade="none")
    manifest = tmp_path / "ds" / "manifest.csv"
    manifest.write_bytes(manifest.read_bytes()[:300])  # cut off in the middle of a row
    for args in (["train", "--data", str(tmp_path / "ds"), "--steps", "1"],
                 ["evaluate", "--model", str(DEFAULT_MODEL), "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "r")]):
        r = CliRunner().invoke(cli, ["-q", *args])
        assert r.exit_code != 0 and isinstance(r.exception, InputError), r.output
        assert "manifest.csv is damaged (line 2 has" in str(r.exception) and "\n" not in str(r.exception)
