"""The style code and the style-conditioned U-Net (units), and the translator's style argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geocolor.errors import ModelFileError
from geocolor.models import load
from geocolor.models.registry import build_generator
from geocolor.models.style import CODE_SCALE, STYLE_DIM, StyleUnetGenerator, code_moments, lab_pixels_code, style_code


def test_style_code_holds_the_palette_moments():
    torch.manual_seed(0)
    lum = torch.rand(2, 1, 32, 32) * 100
    ab = torch.stack([torch.randn(32, 32) * 6 - 4, torch.randn(32, 32) * 3 + 12])[None].repeat(2, 1, 1, 1)
    ab[1] += torch.tensor([10.0, -5.0])[:, None, None]
    code = style_code(lum, ab)
    assert code.shape == (2, STYLE_DIM)
    np.testing.assert_allclose(code[:, :2] * CODE_SCALE, ab.mean((2, 3)), atol=1e-4)
    np.testing.assert_allclose(code[0, 2:4] * CODE_SCALE, ab[0].reshape(2, -1).std(1, unbiased=False), rtol=1e-3)
    mean, cov = code_moments(code[0])
    np.testing.assert_allclose(cov.numpy(), np.cov(ab[0].reshape(2, -1).numpy(), bias=True), rtol=1e-3, atol=1e-3)
    assert torch.allclose(mean, ab[0].mean((1, 2)), atol=1e-4)
    # the per-pixel list form gives the same code
    lab = torch.cat([lum[0], ab[0]]).reshape(3, -1).T
    np.testing.assert_allclose(lab_pixels_code(lab), code[0].numpy(), rtol=1e-4, atol=1e-5)


def test_style_code_weights_exclude_pixels():
    lum = torch.full((1, 1, 4, 4), 50.0)
    ab = torch.zeros(1, 2, 4, 4)
    ab[..., :2] = 40.0  # left half: vivid, right half: gray
    w = torch.zeros(1, 1, 4, 4)
    w[..., 2:] = 1
    assert torch.allclose(style_code(lum, ab, w)[0, :2], torch.zeros(2))


def test_untrained_style_generator_is_a_plain_unet_and_film_steers_it():
    torch.manual_seed(0)
    arch = {"generator": "unet_128", "in_channels": 1, "out_channels": 2, "ngf": 4, "norm": "batch", "style_dim": STYLE_DIM}
    net = build_generator(arch).eval()
    assert isinstance(net, StyleUnetGenerator)
    x = torch.randn(2, 1, 128, 128)
    s1, s2 = torch.randn(2, STYLE_DIM), torch.randn(2, STYLE_DIM)
    with torch.no_grad():
        assert torch.allclose(net(x, s1), net.unet(x))  # FiLM starts at zero
        for lin in net.film:
            lin.weight.normal_(0, 0.5)
        assert not torch.allclose(net(x, s1), net(x, s2))
        assert torch.allclose(net(x), net(x, net.default_style.expand(2, -1)))


def test_plain_models_refuse_a_style_code(tiny_model):
    tr = load(tiny_model, device="cpu")
    assert not tr.style_conditioned
    with pytest.raises(ModelFileError, match="not style-conditioned"):
        tr.predict_chroma(torch.full((1, 1, 256, 256), 50.0), style=[0.0] * STYLE_DIM)
