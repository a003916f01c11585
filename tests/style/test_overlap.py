"""Where neighbouring sheets share ground (pure box math)."""

from __future__ import annotations

from geocolor.style.overlap import intersection, shared_boxes


def test_intersection():
    assert intersection((0, 0, 10, 10), (5, 2, 20, 8)) == (5, 2, 10, 8)
    assert intersection((0, 0, 10, 10), (10, 0, 20, 10)) is None  # touching edges share no ground
    assert intersection((0, 0, 10, 10), (30, 30, 40, 40)) is None


def test_shared_boxes_of_a_row_of_sheets_and_a_loner():
    boxes = [(0, 0, 10, 10), (6, 0, 16, 10), (12, 0, 22, 10), (100, 100, 110, 110)]
    shared = shared_boxes(boxes)
    assert shared[0] == (6, 0, 10, 10)
    assert shared[1] == (6, 0, 16, 10)  # overlaps both neighbours: the box spanning both overlaps
    assert shared[2] == (12, 0, 16, 10)
    assert shared[3] is None


def test_a_sliver_of_overlap_is_too_little_to_measure_on():
    assert shared_boxes([(0, 0, 100, 100), (99.9, 0, 200, 100)]) == [None, None]
    assert shared_boxes([(0, 0, 100, 100), (90, 0, 200, 100)], min_fraction=0.05)[0] == (90, 0, 100, 100)
