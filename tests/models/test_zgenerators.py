"""BicycleGAN's networks: where z enters the U-Net, z = 0 by default, the latent encoders."""

from __future__ import annotations

import pytest
import torch

from geocolor.models.encoders import build_encoder
from geocolor.models.registry import build_generator
from geocolor.models.zgenerators import ZUnetGenerator


def arch(z_position: str, nz: int = 8) -> dict:
    return {"generator": "unet_128", "in_channels": 1, "out_channels": 2, "ngf": 8, "norm": "batch", "nz": nz, "z_position": z_position}


def test_z_positions_widen_different_convolutions():
    plain = build_generator({k: v for k, v in arch("input").items() if k not in ("nz", "z_position")})
    nets = {p: build_generator(arch(p)) for p in ("input", "all", "middle")}
    assert all(isinstance(n, ZUnetGenerator) for n in nets.values())
    n_params = {p: sum(t.numel() for t in n.parameters()) for p, n in nets.items()}
    base = sum(t.numel() for t in plain.parameters())
    # the z channels add 4x4 kernels: input: into the first conv (ngf outputs); middle: into the
    # first transposed conv (8 ngf outputs); all: into every down conv (ngf + 2 + 4 + 8 x 4 ngf outputs)
    assert n_params["input"] - base == 8 * 16 * 8
    assert n_params["middle"] - base == 8 * 16 * 64
    assert n_params["all"] - base == 8 * 16 * (8 + 16 + 32 + 64 * 4)
    assert nets["input"].down[0][0].in_channels == 9 and nets["all"].down[3][1].in_channels == 32 + 8
    assert nets["middle"].up[0][1].in_channels == 64 + 8


@pytest.mark.parametrize("z_position", ["input", "all", "middle"])
def test_z_changes_the_output_and_none_means_the_prior_mean(z_position):
    torch.manual_seed(0)
    net = build_generator(arch(z_position)).eval()
    x = torch.rand(2, 1, 128, 128) * 2 - 1
    z = torch.randn(2, 8)
    with torch.no_grad():
        at_zero, default, other = net(x, torch.zeros(2, 8)), net(x), net(x, z)
    assert torch.equal(at_zero, default) and (other - default).abs().max() > 1e-5  # small untrained, but there


@pytest.mark.parametrize("name", ["resnet", "conv"])
def test_encoders_give_mean_and_log_variance_for_any_tile(name):
    enc = build_encoder(name, 2, nz=8, nef=4)
    for size in (64, 256):
        mu, logvar = enc(torch.rand(3, 2, size, size))
        assert mu.shape == logvar.shape == (3, 8)
