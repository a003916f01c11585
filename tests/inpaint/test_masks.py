"""Mask generators are pure, seeded and give what their kind says."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from geocolor.errors import ConfigError
from geocolor.inpaint.masks import (
    MASKS,
    MaskSpec,
    center_box,
    draw_polyline,
    dust,
    make_mask,
    make_masks,
    nodata_region,
    random_boxes,
    scratches,
    strokes,
)


def test_center_box_is_the_centred_square():
    m = center_box(256, 256, size=64)
    rows, cols = np.nonzero(m)
    assert m.sum() == 64 * 64
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (96, 159, 96, 159)
    assert center_box(100, 200, fraction=0.25).sum() == 25 * 25


def test_random_boxes_count_and_size():
    rng = np.random.default_rng(1)
    for _ in range(20):
        m = random_boxes(128, 128, rng, count=(1, 1), size=(10, 20))
        rows, cols = np.nonzero(m)
        assert 10 <= rows.max() - rows.min() + 1 <= 20 and 10 <= cols.max() - cols.min() + 1 <= 20
        assert m.sum() == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)  # one solid rectangle


def test_scratches_are_long_and_thin():
    rng = np.random.default_rng(2)
    m = scratches(256, 256, rng, count=(1, 1), width=(1.0, 2.0))
    rows, cols = np.nonzero(m)
    extent = max(rows.max() - rows.min(), cols.max() - cols.min())
    assert extent > 100, "a scratch runs across much of the image"
    assert m.sum() < 3 * extent, "a scratch is at most ~2 px wide"


def test_dust_is_small_specks():
    m = dust(256, 256, np.random.default_rng(3), count=(20, 20), radius=(1.0, 2.5))
    labels, n = ndimage.label(m)
    assert 10 <= n <= 20  # specks may touch
    sizes = ndimage.sum(m, labels, range(1, n + 1))
    assert np.median(sizes) <= 25


def test_strokes_are_connected_brush_paths():
    m = strokes(256, 256, np.random.default_rng(4), count=(1, 1), width=(6.0, 6.0))
    _, n = ndimage.label(m)
    assert n == 1 and 200 < m.sum() < 0.5 * m.size


def test_nodata_region_is_a_straight_edged_region_on_a_side():
    for seed in range(8):
        m = nodata_region(200, 300, np.random.default_rng(seed), depth=(0.1, 0.2))
        assert 0.02 * m.size < m.sum() < 0.35 * m.size
        border = np.concatenate([m[0], m[-1], m[:, 0], m[:, -1]])
        assert border.any(), "the region starts at the image's edge"
        _, n = ndimage.label(m)
        assert n == 1
        # straight edge: along each row (or column) the region is one run from the border
        runs = [np.count_nonzero(np.diff(r.astype(int))) for r in (m if m[:, 0].any() or m[:, -1].any() else m.T)]
        assert max(runs) <= 1


def test_draw_polyline_distance():
    m = draw_polyline(np.zeros((21, 21), bool), np.array([[10.0, 2.0], [10.0, 18.0]]), 1.0)
    assert m[9:12, 2:19].all() and not m[:8].any() and not m[13:].any()


def test_same_seed_same_masks_and_spec_picks_only_its_kinds():
    spec = MaskSpec({"dust": 1.0, "scratches": 1.0})
    a, b = make_masks(spec, 6, 64, 64, seed=7), make_masks(spec, 6, 64, 64, seed=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, make_masks(spec, 6, 64, 64, seed=8))
    only_center = make_masks(MaskSpec({"center": 1.0}, center_size=16), 3, 64, 64, seed=0)
    assert (only_center == center_box(64, 64, size=16)).all()
    for kind in MASKS:
        assert make_mask(MaskSpec({kind: 1.0}), 64, 64, np.random.default_rng(0)).any()


def test_unknown_kind_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown mask kind"):
        MaskSpec({"blotches": 1.0})
