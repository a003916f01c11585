"""The dense-block generator, the DCGAN discriminator and the inpainting losses."""

from __future__ import annotations

import pytest
import torch

from geocolor.inpaint.losses import composite, masked_l1, masked_l2, total_variation
from geocolor.models.dense import DenseBlock, DenseUnet
from geocolor.models.generators import GENERATORS, tile_multiple
from geocolor.models.registry import build_discriminator


def test_dense_block_feeds_every_layer_all_previous_outputs():
    block = DenseBlock(8, growth=4, n_layers=4, norm="batch")
    assert [layer[2].in_channels for layer in block.layers] == [8, 12, 16, 20]
    out = block(torch.randn(2, 8, 16, 16))
    assert out.shape == (2, 24, 16, 16)


@pytest.mark.parametrize("name", ["dense_unet", "plain_ae"])
def test_generator_shape_and_range(name):
    net = GENERATORS[name](2, 1, ngf=4)
    y = net(torch.randn(2, 2, 96, 64))
    assert y.shape == (2, 1, 96, 64) and y.abs().max() <= 1
    assert tile_multiple(name) == 32


def test_dense_unet_has_four_dense_blocks_each_side_and_skips():
    net = DenseUnet(2, 1, ngf=4)
    assert len(net.enc) == 4 and len(net.dec) == 4
    assert all(isinstance(b, DenseBlock) for b in [*net.enc, *net.dec])
    assert net.stem.kernel_size == (4, 4) and net.stem.stride == (2, 2)
    plain = GENERATORS["plain_ae"](2, 1, ngf=4)
    assert not plain.skips and not any(isinstance(m, DenseBlock) for m in plain.modules())


def test_dcgan_discriminator_is_five_stride2_convs_and_one_logit():
    d = build_discriminator("dcgan", 1, 8)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 5 and all(c.stride == (2, 2) and c.kernel_size == (4, 4) for c in convs)
    assert d(torch.randn(3, 1, 64, 64)).shape == (3, 1)
    assert d(torch.randn(3, 1, 128, 96)).shape == (3, 1)


def test_masked_losses_only_see_the_hole():
    target = torch.zeros(1, 1, 4, 4)
    out = torch.zeros(1, 1, 4, 4)
    out[..., :2, :] = 3.0  # wrong everywhere outside the hole
    out[..., 3, 3] = 0.5
    hole = torch.zeros(1, 1, 4, 4)
    hole[..., 2:, 2:] = 1.0
    assert masked_l2(out, target, hole).item() == pytest.approx(0.25 / 4)
    assert masked_l1(out, target, hole).item() == pytest.approx(0.5 / 4)
    filled = composite(out, torch.full_like(out, 7.0), hole)
    assert (filled[..., :2, :] == 7).all() and filled[..., 3, 3] == 0.5


def test_total_variation_sums_neighbour_differences():
    img = torch.tensor([[0.0, 1.0], [2.0, 4.0]])[None, None]
    # vertical |2-0| + |4-1| = 5, horizontal |1-0| + |4-2| = 3
    assert total_variation(img).item() == pytest.approx(8.0)
    assert total_variation(img.repeat(3, 1, 1, 1)).item() == pytest.approx(8.0)  # per image


def test_the_resize_convolution_decoder_paints_no_checkerboard_where_transposed_convolutions_do():
    """Untrained networks on a constant input: a stride-2 transposed convolution already repeats with the
    pixel phase (each output pixel sums a different number of kernel taps), nearest x2 + conv does not."""
    import numpy as np

    from geocolor.inpaint.artifacts import CHECKERBOARD_MAX, checkerboard_index
    from geocolor.models.generators import GENERATORS
    from geocolor.models.init import init_weights

    torch.manual_seed(0)
    x = torch.cat([torch.zeros(1, 1, 128, 128), torch.ones(1, 1, 128, 128)], 1)
    hole = np.ones((128, 128), bool)
    hole[:8], hole[-8:], hole[:, :8], hole[:, -8:] = False, False, False, False
    scores = {}
    for name in ("dense_unet", "dense_unet_rc"):
        net = init_weights(GENERATORS[name](2, 1, ngf=8), "normal", 0.02).eval()
        with torch.no_grad():
            out = net(x)[0, 0].numpy()
        scores[name] = checkerboard_index(out + 0.001 * np.random.default_rng(0).standard_normal(out.shape), hole)
    assert scores["dense_unet_rc"] < CHECKERBOARD_MAX < scores["dense_unet"], scores
