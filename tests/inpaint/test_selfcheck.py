"""The per-hole self-check (``--method auto``), the fill artefact measures and the leave-source-out holes."""

from __future__ import annotations

import numpy as np
import pytest

from geocolor.inpaint.artifacts import CHECKERBOARD_MAX, border_continuity, checkerboard_index
from geocolor.inpaint.classical import biharmonic_fill
from geocolor.inpaint.protocol import hole_set
from geocolor.inpaint.selfcheck import network_weight, rings, self_checked_fill
from tests.conftest import shared


def _gradient(h: int = 128, w: int = 128) -> np.ndarray:
    rows, cols = np.mgrid[:h, :w] / max(h, w)
    return (0.2 + 0.5 * cols + 0.2 * rows**2)[None].astype(np.float32)


def _two_holes(h: int = 128, w: int = 128) -> np.ndarray:
    hole = np.zeros((h, w), dtype=bool)
    hole[20:60, 20:56] = True
    hole[80:112, 70:110] = True
    return hole


def _real_gray(size: int = 192) -> np.ndarray:
    """A real aerial crop (NEON forest plot, gray in [0, 1]): texture that biharmonic cannot continue."""
    import rasterio

    from geocolor.color import lightness_to_gray, rgb_to_lab

    with rasterio.open(shared("neon/SOAP_031.png")) as src:
        rgb = src.read([1, 2, 3], window=((100, 100 + size), (100, 100 + size))).transpose(1, 2, 0) / 255.0
    return lightness_to_gray(rgb_to_lab(rgb)[..., :1])[..., 0][None].astype(np.float32)


def test_the_self_check_picks_biharmonic_for_a_smooth_gradient_hole():
    image, hole = _gradient(), _two_holes()
    rng = np.random.default_rng(0)

    def blotchy_network(x: np.ndarray, unknown: np.ndarray) -> np.ndarray:  # a network that paints noise
        out = x.copy()
        out[:, unknown] = np.clip(0.5 + 0.2 * rng.standard_normal((x.shape[0], int(unknown.sum()))), 0, 1)
        return out

    filled, report, choices, _ = self_checked_fill(image, hole, hole, blotchy_network)
    assert [c.method for c in choices] == ["biharmonic", "biharmonic"]
    assert report.holes["biharmonic"] == 2 and report.pixels["biharmonic"] == int(hole.sum())
    assert np.abs(filled - image)[:, hole].max() < 0.02  # biharmonic continues a smooth surface
    assert np.array_equal(filled[:, ~hole], image[:, ~hole])


def test_the_self_check_picks_the_network_where_it_rebuilds_the_ring_better():
    truth = _real_gray()
    hole = np.zeros(truth.shape[1:], dtype=bool)
    hole[60:110, 50:100] = True

    def seeing_network(x: np.ndarray, unknown: np.ndarray) -> np.ndarray:  # knows the texture (a stand-in for a good model)
        out = x.copy()
        out[:, unknown] = truth[:, unknown] + 0.01
        return out

    holed = truth.copy()
    holed[:, hole] = 0.0
    filled, report, choices, _ = self_checked_fill(holed, hole, hole, seeing_network)
    assert choices[0].method == "network" and choices[0].error_network < choices[0].error_biharmonic
    assert report.holes == {"network": 1, "biharmonic": 0, "blend": 0, "thin": 0}
    assert np.allclose(filled[:, hole], truth[:, hole] + 0.01, atol=1e-6)


def test_a_blend_weighs_the_two_methods_by_their_ring_errors():
    assert network_weight(1.0, 1.0) == pytest.approx(0.5)
    assert network_weight(1.0, 3.0, power=1.0) == pytest.approx(0.75)
    assert network_weight(1.0, 1.5) == pytest.approx(2.25 / 3.25)
    assert network_weight(1.0, 3.0) == 1.0  # clearly better: the pure method
    assert network_weight(9.0, 1.0) == 0.0
    assert network_weight(0.0, 0.0) == 1.0


def test_only_hole_pixels_change_and_fixed_methods_are_obeyed():
    image, hole = _real_gray(), np.zeros((192, 192), dtype=bool)
    hole[40:80, 40:90] = True
    unknown = hole.copy()
    unknown[:, :6] = True  # untrusted nodata that is not filled
    holed = image.copy()
    holed[:, unknown] = 0.0

    def flat(x: np.ndarray, u: np.ndarray) -> np.ndarray:
        out = x.copy()
        out[:, u] = 0.5
        return out

    for method in ("auto", "network", "biharmonic"):
        filled, report, _, _ = self_checked_fill(holed, unknown, hole, flat, method)
        assert np.array_equal(filled[:, ~hole], holed[:, ~hole]), method
        assert sum(report.holes.values()) == 1
    assert np.all(self_checked_fill(holed, unknown, hole, flat, "network")[0][:, hole] == 0.5)
    with pytest.raises(ValueError, match="unknown inpainting method"):
        self_checked_fill(holed, unknown, hole, flat, "magic")


def test_rings_hold_only_known_pixels_and_grow_with_the_hole():
    hole = _two_holes()
    unknown = hole.copy()
    unknown[:, :10] = True
    labels, n, ring = rings(hole, unknown)
    assert n == 2
    assert not (ring > 0)[unknown].any()
    small, big = (ring == 1).sum(), (ring == 2).sum()
    assert small > 0 and big > 0
    _, _, fixed = rings(hole, unknown, width=4)
    assert (fixed > 0).sum() < (ring > 0).sum()


def test_the_checkerboard_measure_flags_a_checkered_fill_and_passes_a_smooth_or_textured_one():
    truth = _real_gray()
    hole = np.zeros(truth.shape[1:], dtype=bool)
    hole[50:114, 60:124] = True
    smooth = biharmonic_fill(np.where(hole, 0.0, truth), hole)
    rows, cols = np.indices(hole.shape)
    checkered = smooth + np.where(hole, 0.01 * ((rows + cols) % 2 * 2 - 1), 0.0)  # +-2.5 gray levels
    assert checkerboard_index(truth, hole) < CHECKERBOARD_MAX
    assert checkerboard_index(smooth, hole) < CHECKERBOARD_MAX
    assert checkerboard_index(checkered, hole) > 3 * CHECKERBOARD_MAX


def test_border_continuity_sees_a_frame_around_a_flat_fill():
    truth = _real_gray()
    hole = np.zeros(truth.shape[1:], dtype=bool)
    hole[50:114, 60:124] = True
    flat = np.where(hole, 1.0, truth)
    assert border_continuity(truth, hole) == pytest.approx(1.0, abs=0.3)
    assert border_continuity(flat, hole) > 3.0


def test_the_evaluation_holes_are_seeded_sized_and_inside():
    a, b = hole_set(5, 256, 256, seed=3), hole_set(5, 256, 256, seed=3)
    assert np.array_equal(a, b)
    from scipy import ndimage

    for mask in a:
        labels, n = ndimage.label(mask)
        assert n == 2
        for sl in ndimage.find_objects(labels):
            assert all(32 <= s.stop - s.start <= 64 for s in sl)
            assert all(s.start >= 16 and s.stop <= 256 - 16 for s in sl)


def test_the_shipped_model_fills_with_at_most_a_faint_phase_pattern():
    """The shipped resize-convolution model on a real crop (NEON SOAP, a val source): the mean checkerboard
    index over five 64 px holes stays near the texture level (the previous transposed-convolution model
    scored 5.9 here; the threshold is 3.5 because nearest-neighbour up-sampling still leaves a faint
    pixel-phase pattern in some flat fills)."""
    from geocolor.inpaint.evaluate import network_filler
    from geocolor.inpaint.model import load_inpainter

    inp = load_inpainter(None, "cpu")
    assert inp.metadata["architecture"]["generator"] == "dense_unet_rc"
    image = _real_gray(256)[0]
    fill = network_filler(inp.net, inp.device)
    scores, borders = [], []
    for r, c in ((96, 96), (30, 30), (150, 40), (40, 150), (170, 170)):
        hole = np.zeros((256, 256), dtype=bool)
        hole[r : r + 64, c : c + 64] = True
        filled = fill(image[None, ..., None], hole[None])[0, ..., 0]
        scores.append(checkerboard_index(filled, hole))
        borders.append(border_continuity(filled, hole))
    assert np.mean(scores) < 3.5, scores
    assert max(borders) < 1.5, borders
