"""Feature extraction over images of different sizes (plain image folders): batched by shape, in order."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from geocolor.metrics.features import default_extractor, same_shape_batches
from tests.metrics.test_frechet import _FakeInception


def test_same_shape_batches_keep_order_and_limit():
    imgs = [np.zeros((s, s, 3), np.uint8) for s in (8, 8, 8, 16, 8, 8)]
    groups = same_shape_batches(imgs, batch=2)
    assert [[g.shape[0] for g in grp] for grp in groups] == [[8, 8], [8], [16], [8, 8]]
    flat = [i for grp in groups for i in grp]
    assert len(flat) == len(imgs) and all(a is b for a, b in zip(flat, imgs))  # nothing lost or reordered


def test_torchscript_extractor_on_mixed_sizes(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(_FakeInception()), str(tmp_path / "inception-2015-12-05.pt"))
        ext, why = default_extractor(tmp_path)
    assert ext is not None, why
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in ((20, 30), (20, 30), (40, 24))]
    feats = ext.features(imgs)
    assert feats.shape == (3, 6)
    np.testing.assert_allclose(feats[2], ext.features([imgs[2]])[0], rtol=1e-6)  # batched as alone
    assert ext.probs is not None and ext.probs(imgs).shape == (3, 4)
