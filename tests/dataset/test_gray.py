"""Colour -> gray conversions: L* agrees with the Lab training maths; the others follow their definitions."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from geocolor import color
from geocolor.dataset.gray import GRAY_CONVERSIONS, gray_converter
from geocolor.errors import ConfigError


@pytest.fixture(scope="module")
def rgb() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)


def test_lstar_gray_has_the_lightness_of_the_colour(rgb):
    gray = gray_converter("lstar")(rgb)
    target = color.rgb_to_lab(rgb / 255.0)[..., 0]
    got = color.gray_to_lightness(gray / 255.0)
    assert np.abs(got - target).max() < 0.5  # one 8-bit gray step is at most ~0.5 L* above black


def test_bt601_matches_pillow_luma(rgb):
    pillow = np.asarray(Image.fromarray(rgb).convert("L")).astype(int)
    assert np.abs(gray_converter("bt601")(rgb).astype(int) - pillow).max() <= 1


def test_band_takes_one_channel(rgb):
    assert np.array_equal(gray_converter("band:2")(rgb), rgb[..., 1])


def test_neutral_gray_stays_the_same_gray_in_every_conversion():
    ramp = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)[None]
    for name in GRAY_CONVERSIONS:
        assert np.abs(gray_converter(name)(ramp).astype(int) - np.arange(256)).max() <= 1, name


def test_panchromatic_film_renders_red_lighter_and_blue_darker_than_the_eye():
    red = np.array([[[200, 40, 40]]], np.uint8)
    blue = np.array([[[40, 40, 200]]], np.uint8)
    film, eye = gray_converter("film"), gray_converter("lstar")
    assert film(red)[0, 0] > eye(red)[0, 0]
    assert film(blue)[0, 0] < eye(blue)[0, 0]
    assert gray_converter("weights:0,0,1")(blue)[0, 0] == 200


@pytest.mark.parametrize("spec", ["nope", "band:4", "weights:1,2", "weights:0,0,0"])
def test_unknown_conversions_are_config_errors(spec):
    with pytest.raises(ConfigError):
        gray_converter(spec)
