"""The loader the trainer uses reads every layout the builder writes, and they agree chip for chip."""

from __future__ import annotations

import numpy as np
import pytest

from geocolor.dataset.io import read_png
from geocolor.dataset.layouts import read_manifest
from geocolor.dataset.loader import PairedChips, UnpairedImages
from geocolor.errors import InputError
from tests.dataset.conftest import CHIP, build


@pytest.fixture(scope="module")
def dataset(naip, pan, tmp_path_factory):
    out = tmp_path_factory.mktemp("loader") / "ds"
    build(naip, out, split=[0.6, 0.2, 0.2], block_size=960.0, unpaired_a=[str(pan)])
    return out


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_every_layout_loads_the_same_pairs(dataset, split):
    by_layout = {layout: PairedChips(dataset, split, layout=layout) for layout in ("manifest", "paired", "unpaired")}
    assert PairedChips(dataset, split).layout == "manifest"  # auto picks the manifest chips first
    expected = [r for r in read_manifest(dataset) if r["split"] == split and r["domain"] == "paired"]
    assert len(expected) > 0
    for chips in by_layout.values():
        assert len(chips) == len(expected)
    for i in range(0, len(expected), 5):
        m, p, u = (by_layout[k][i] for k in ("manifest", "paired", "unpaired"))
        assert m.id == p.id == u.id == expected[i]["id"] and m.split == split
        assert m.color.shape == (CHIP, CHIP, 3) and m.gray.shape == (CHIP, CHIP)
        assert m.color.dtype == m.gray.dtype == np.uint8
        assert np.array_equal(m.color, p.color) and np.array_equal(m.color, u.color)
        assert np.array_equal(m.gray, p.gray) and np.array_equal(m.gray, u.gray)
        assert m.record["crs"] == "EPSG:26914"


def test_paired_ab_images_put_gray_left_and_colour_right(dataset):
    chip = PairedChips(dataset, "train", layout="manifest")[0]
    ab = read_png(dataset / "paired" / "train" / f"{chip.id}.png")
    assert ab.shape == (CHIP, 2 * CHIP, 3)
    assert np.array_equal(ab[:, :CHIP, 0], chip.gray) and np.array_equal(ab[:, :CHIP, 2], chip.gray)
    assert np.array_equal(ab[:, CHIP:], chip.color)


def test_sample_batch_is_seeded_and_augments_pairs_together(dataset):
    a = PairedChips(dataset, "train", seed=3)
    gray, colour = a.sample_batch(4)
    assert gray.shape == (4, CHIP, CHIP) and colour.shape == (4, CHIP, CHIP, 3)
    state = a.rng_state()
    again = a.sample_batch(4)
    a.set_rng_state(state)
    assert all(np.array_equal(x, y) for x, y in zip(again, a.sample_batch(4), strict=True))
    b = PairedChips(dataset, "train", seed=3)
    assert np.array_equal(b.sample_batch(4)[1], colour)
    # flips and turns move gray and colour together: every sample is one chip under one transform
    chips = list(a)

    def views(img: np.ndarray) -> list[np.ndarray]:
        return [np.rot90(img, k)[:, ::-1] if flip else np.rot90(img, k) for k in range(4) for flip in (False, True)]

    known = {(vg.tobytes(), vc.tobytes()) for chip in chips
             for vg, vc in zip(views(chip.gray), views(chip.color), strict=True)}
    g, c = PairedChips(dataset, "train", seed=0).sample_batch(8)
    for gi, ci in zip(g, c, strict=True):
        assert (gi.tobytes(), ci.tobytes()) in known, "a sampled pair is not a chip's gray and colour under one transform"


def test_unpaired_domains_hold_real_photos_in_a_only(dataset):
    train_a = UnpairedImages(dataset, "train", "A")
    train_b = UnpairedImages(dataset, "train", "B")
    names_a = {p.name for p in train_a.files}
    assert any(n.startswith("real_") for n in names_a)
    assert not any(p.name.startswith("real_") for p in train_b.files)
    assert train_a[0].ndim == 2 and train_b[0].shape == (CHIP, CHIP, 3)
    assert len(train_a) == len(train_b) + sum(1 for n in names_a if n.startswith("real_"))


def test_loader_errors_are_one_line(dataset, tmp_path):
    with pytest.raises(InputError, match="not a finished geocolor dataset"):
        PairedChips(tmp_path)
    with pytest.raises(InputError, match="split must be"):
        PairedChips(dataset, "validation")
