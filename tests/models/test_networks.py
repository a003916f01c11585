import pytest
import torch

from geocolor.models.discriminators import DISCRIMINATORS
from geocolor.models.generators import GENERATORS


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def test_unet_256_matches_published_size():
    assert n_params(GENERATORS["unet_256"](3, 3, ngf=64, norm="batch")) == pytest.approx(54.4e6, rel=0.002)


@pytest.mark.parametrize("name,size", [("unet_128", 128), ("unet_256", 256)])
def test_unet_shapes(name, size):
    g = GENERATORS[name](1, 2, ngf=8).eval()
    y = g(torch.zeros(2, 1, size, size))
    assert y.shape == (2, 2, size, size) and y.abs().max() <= 1


def test_patchgan_70_receptive_field_output():
    d = DISCRIMINATORS["basic"](3, ndf=16)
    assert d(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)
