"""The model zoo: ResNet generators, PixelGAN, spectral norm, GAN losses and the WGAN-GP penalty."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from geocolor.models.encoding import ColorEncoding, encoding_from_metadata
from geocolor.models.generators import GENERATORS, tile_multiple
from geocolor.models.init import init_weights
from geocolor.models.losses import GAN_LOSSES, gradient_penalty
from geocolor.models.registry import build_discriminator, build_generator


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("name,published", [("resnet_9blocks", 11.378e6), ("resnet_6blocks", 7.841e6)])
@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_resnet_generators_match_published_size(name, published, norm):
    assert n_params(GENERATORS[name](3, 3, ngf=64, norm=norm)) == pytest.approx(published, rel=1e-3)


def test_resnet_9blocks_exact_count_as_cyclegan_prints_it():
    assert n_params(GENERATORS["resnet_9blocks"](3, 3, ngf=64, norm="instance")) == 11_378_179


@pytest.mark.parametrize("name", ["resnet_6blocks", "resnet_9blocks"])
def test_resnet_shapes_and_tile_multiple(name):
    assert tile_multiple(name) == 4
    arch = {"generator": name, "in_channels": 1, "out_channels": 2, "ngf": 4, "norm": "batch", "dropout": True}
    g = build_generator(arch).eval()
    y = g(torch.zeros(2, 1, 36, 44))
    assert y.shape == (2, 2, 36, 44) and y.abs().max() <= 1
    assert sum(isinstance(m, nn.Dropout) for m in g.modules()) == int(name[7])


def test_pixel_discriminator_judges_each_pixel():
    d = build_discriminator("pixel", 3, ndf=8, norm="instance")
    assert d(torch.zeros(2, 3, 20, 24)).shape == (2, 1, 20, 24)
    assert all(m.kernel_size == (1, 1) for m in d.modules() if isinstance(m, nn.Conv2d))


@pytest.mark.parametrize("name", ["basic", "n_layers", "pixel"])
def test_spectral_norm_bounds_every_conv(name):
    torch.manual_seed(0)
    d = init_weights(build_discriminator(name, 3, ndf=8, norm="none", spectral_norm=True), "normal", 0.5)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert convs and all(hasattr(m, "parametrizations") for m in convs)
    d.train()
    with torch.no_grad():
        for _ in range(15):  # power iterations converge while training
            d(torch.rand(1, 3, 32, 32))
    for m in convs:
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), ord=2)
        assert sigma == pytest.approx(1.0, rel=0.05)


def test_gan_losses_signs():
    s = torch.tensor([2.0, -0.5])
    assert GAN_LOSSES["wgangp"](s, True, True) == pytest.approx(-0.75)
    assert GAN_LOSSES["wgangp"](s, False, True) == pytest.approx(0.75)
    assert GAN_LOSSES["hinge"](s, True, True) == pytest.approx((0.0 + 1.5) / 2)
    assert GAN_LOSSES["hinge"](s, False, True) == pytest.approx((3.0 + 0.5) / 2)
    assert GAN_LOSSES["hinge"](s, True, False) == pytest.approx(-0.75)
    assert GAN_LOSSES["lsgan"](torch.ones(3), True, False) == 0


def test_gradient_penalty_is_zero_for_unit_gradient_and_positive_otherwise():
    real, fake = torch.rand(4, 3, 8, 8), torch.rand(4, 3, 8, 8)
    unit = nn.Conv2d(3, 1, 1, bias=False)
    with torch.no_grad():
        unit.weight.zero_()
        unit.weight[0, 0] = 8.0  # the per-sample score is the mean of 64 patches: d(score)/dx = 8/64 on 64 pixels, norm 1
    assert gradient_penalty(unit, real, fake).item() == pytest.approx(0.0, abs=1e-6)
    steep = nn.Conv2d(3, 1, 1)
    gp = gradient_penalty(steep, real, fake, weight=10.0)
    assert gp.item() > 0 and gp.requires_grad


def test_gradient_penalty_on_a_known_gradient_norm():
    """A critic whose patch map is its input: each sample's score is the mean of its n values, gradient norm 1/sqrt(n)."""
    real, fake = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    n = 3 * 8 * 8
    gp = gradient_penalty(nn.Identity(), real, fake, weight=10.0)
    assert gp.item() == pytest.approx(10.0 * (1.0 / n**0.5 - 1.0) ** 2, rel=1e-5)  # < 10 whatever the patch count


def test_rgb_encoding_round_trips_a_colour():
    enc = ColorEncoding("rgb")
    rgb = torch.tensor([0.8, 0.4, 0.1]).reshape(1, 3, 1, 1).expand(1, 3, 4, 4)
    from geocolor.color import rgb_to_lab

    lab = rgb_to_lab(rgb, axis=1)
    x = enc.encode_input(lab[:, :1])
    assert x.shape == (1, 3, 4, 4) and torch.equal(x[:, 0], x[:, 2])
    ab = enc.decode_chroma(enc.encode_target(rgb, lab))
    torch.testing.assert_close(ab, lab[:, 1:], atol=1e-3, rtol=0)
    assert encoding_from_metadata({"color_space": "rgb", "normalization": enc.normalization()}) == enc


def test_resnet_batch_norm_folds_for_inference():
    """The translator folds BN into the preceding conv; the ResNet blocks must fold without changing output."""
    from geocolor.models.translator import fold_batch_norm

    torch.manual_seed(0)
    g = GENERATORS["resnet_6blocks"](1, 2, ngf=4, norm="batch").train()
    with torch.no_grad():
        for _ in range(3):
            g(torch.randn(2, 1, 32, 32))  # non-trivial running statistics
    g.eval()
    x = torch.randn(1, 1, 32, 32)
    before = g(x).detach()
    folded = fold_batch_norm(g)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    torch.testing.assert_close(folded(x).detach(), before, atol=1e-5, rtol=1e-4)
