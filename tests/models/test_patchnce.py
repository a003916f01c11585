"""PatchNCE pieces: the InfoNCE loss math, the encoder taps of each generator, the projection head."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from geocolor.models.generators import GENERATORS
from geocolor.models.patchnce import PatchProjector, encoder_features, patch_nce_loss


def test_patch_nce_is_low_for_matching_features_and_high_for_shuffled_ones():
    torch.manual_seed(0)
    q = F.normalize(torch.randn(2, 64, 16), dim=-1)
    k = F.normalize(q + 0.1 * torch.randn_like(q), dim=-1)
    matching = patch_nce_loss(q, k, 0.07)
    shuffled = patch_nce_loss(q, k[:, torch.randperm(64)], 0.07)
    assert matching < 0.05 and shuffled > 3.0, (matching, shuffled)  # ~0 vs ~log(64) or worse
    # with identical keys everything else equal, the loss is the softmax of the positive among all
    same = torch.ones(1, 4, 2) / math.sqrt(2)
    assert patch_nce_loss(same, same, 1.0).item() == pytest.approx(math.log(4), rel=1e-5)  # positive + 3 equal negatives
    q.requires_grad_(True)
    k.requires_grad_(True)
    patch_nce_loss(q, k).backward()
    assert q.grad is not None and k.grad is None  # keys are targets, not trained through


def test_encoder_taps_follow_cut_numbering_for_resnet_and_down_blocks_for_unet():
    x = torch.rand(1, 3, 128, 128)
    resnet = GENERATORS["resnet_9blocks"](3, 3, ngf=4, norm="instance")
    feats = encoder_features(resnet, x, [0, 4, 8, 12, 16])
    assert [tuple(f.shape[1:]) for f in feats] == [(3, 134, 134), (8, 64, 64), (16, 32, 32), (16, 32, 32), (16, 32, 32)]
    unet = GENERATORS["unet_128"](3, 3, ngf=4, norm="instance")
    feats = encoder_features(unet, x, [0, 1, 2, 3, 4])
    assert [tuple(f.shape[1:]) for f in feats] == [(3, 128, 128), (4, 64, 64), (8, 32, 32), (16, 16, 16), (32, 8, 8)]
    assert torch.equal(feats[0], x)
    projector = PatchProjector([3, 4], dim=8)
    out, ids = projector([feats[0], feats[1]], 10)
    again, _ = projector([feats[0], feats[1]], 10, ids)
    assert out[0].shape == (1, 10, 8) and torch.allclose(out[0].norm(dim=-1), torch.ones(1, 10))
    assert all(torch.equal(a, b) for a, b in zip(out, again))  # the same positions when ids are reused
