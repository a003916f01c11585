import numpy as np
import pytest
import torch
from skimage.color import lab2rgb, rgb2lab

from geocolor import color


def test_rgb_to_lab_matches_scikit_image():
    rgb = np.random.default_rng(0).random((32, 32, 3))
    np.testing.assert_allclose(color.rgb_to_lab(rgb), rgb2lab(rgb), atol=1e-2)


def test_lab_to_rgb_matches_scikit_image_and_round_trips():
    rgb = np.random.default_rng(1).random((32, 32, 3))
    lab = rgb2lab(rgb)
    np.testing.assert_allclose(color.lab_to_rgb(lab), lab2rgb(lab), atol=2e-3)
    np.testing.assert_allclose(color.lab_to_rgb(color.rgb_to_lab(rgb)), rgb, atol=1e-6)


def test_torch_and_numpy_agree_on_nchw():
    rgb = np.random.default_rng(2).random((2, 3, 8, 8)).astype(np.float32)
    t = color.rgb_to_lab(torch.from_numpy(rgb), axis=1).numpy()
    np.testing.assert_allclose(t, color.rgb_to_lab(rgb, axis=1), atol=1e-3)


def test_gray_has_zero_chroma_and_lightness_round_trips():
    g = np.linspace(0, 1, 256)
    lab = color.rgb_to_lab(np.stack([g, g, g], -1))
    assert np.abs(lab[:, 1:]).max() < 1e-9
    np.testing.assert_allclose(color.lab_to_rgb(lab), np.stack([g, g, g], -1), atol=1e-9)
    np.testing.assert_allclose(lab[:, 0], color.gray_to_lightness(g), atol=1e-4)
    np.testing.assert_allclose(color.lightness_to_gray(color.gray_to_lightness(g)), g, atol=1e-9)
    np.testing.assert_allclose(color.uint8_lightness_lut(), color.gray_to_lightness(g), atol=1e-4)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_gamut_mapping_keeps_lightness(backend):
    lab = np.stack([np.linspace(5, 95, 400), np.linspace(-127, 127, 400), np.linspace(127, -127, 400)], -1)
    arr = torch.from_numpy(lab) if backend == "torch" else lab
    rgb = np.asarray(color.lab_to_rgb_keep_lightness(arr))
    assert rgb.min() >= 0 and rgb.max() <= 1
    np.testing.assert_allclose(rgb2lab(rgb)[:, 0], lab[:, 0], atol=1e-3)
    # plain clipping would have changed the lightness of these saturated colours
    assert np.abs(rgb2lab(lab2rgb(lab))[:, 0] - lab[:, 0]).max() > 1.0


def test_non_finite_chroma_becomes_gray_at_the_same_lightness():
    """A NaN or inf a*/b* from a broken model must not turn a pixel black: it is drawn gray, L* kept."""
    lum = color.uint8_lightness_lut()[[40, 128, 250]]
    lab = np.stack([lum, np.array([np.nan, np.inf, -np.inf], np.float32), np.array([0.0, np.nan, 0.0], np.float32)], -1)
    rgb8 = color.lab_to_srgb8(lab.astype(np.float32))
    assert rgb8.tolist() == [[40, 40, 40], [128, 128, 128], [250, 250, 250]]
    rgb = np.asarray(color.lab_to_rgb_keep_lightness(lab.astype(np.float32)))
    assert np.allclose(rgb * 255, [[40] * 3, [128] * 3, [250] * 3], atol=0.01)
