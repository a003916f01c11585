"""Each shipped ``.onnx`` is the export of the ``.pt`` beside it: same metadata and weights, same answers.

A retrained ``.pt`` with a stale ``.onnx`` fails here; re-export with ``python pipelines/export_shipped.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import REPO
from tests.models.test_onnx import real_tiles

pytest.importorskip("onnxruntime")

WEIGHTS = REPO / "geocolor" / "weights"
SHIPPED = ("default", "inpaint")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_onnx_is_the_export_of_its_pt(name):
    from geocolor.models.io import read_model_file
    from geocolor.models.metadata import metadata_checksum
    from geocolor.models.onnx_file import read_onnx_header

    pt, onnx = WEIGHTS / f"{name}.pt", WEIGHTS / f"{name}.onnx"
    assert onnx.is_file(), f"{onnx.name} is missing: python pipelines/export_shipped.py"
    payload, header = read_model_file(pt), read_onnx_header(onnx)
    stale = "is stale (exported from other weights or metadata): python pipelines/export_shipped.py"
    assert header.weights_checksum == payload["checksum"], f"{onnx.name} {stale}"
    assert metadata_checksum(header.metadata) == payload["metadata_checksum"], f"{onnx.name} {stale}"
    for path in (pt, onnx):
        assert path.stat().st_size <= 50 * 2**20, f"{path.name} is over 50 MB"


def test_shipped_colorization_onnx_answers_like_its_pt_within_one_gray_level():
    """On real imagery, in 8-bit sRGB: the onnx engine vs the torch engine in fp32."""
    from geocolor.color import lab_planes_to_srgb8
    from geocolor.models.engines import load_colorizer

    tiles = real_tiles(2)
    torch_ab = load_colorizer(WEIGHTS / "default.pt", "cpu", "torch", "fp32", 1).predict_array(tiles)
    onnx_ab = load_colorizer(WEIGHTS / "default.pt", "cpu", "onnx", "auto", 1).predict_array(tiles)
    for lum, a, b in zip(tiles[:, 0], torch_ab, onnx_ab):
        want = lab_planes_to_srgb8(lum, a[0], a[1]).astype(int)
        got = lab_planes_to_srgb8(lum, b[0], b[1]).astype(int)
        assert np.abs(got - want).max() <= 1


def test_shipped_inpainting_onnx_answers_like_its_pt():
    from geocolor.inpaint.engines import load_filler

    image = (real_tiles(1) / 100.0).astype(np.float32)
    hole = np.zeros((1, 1, 256, 256), np.float32)
    hole[..., 100:140, 90:150] = 1
    want = load_filler(WEIGHTS / "inpaint.pt", "cpu", "torch", 1).fill_array(image, hole)
    got = load_filler(WEIGHTS / "inpaint.pt", "cpu", "onnx", 1).fill_array(image, hole)
    assert np.abs(got - want).max() * 255 <= 1.0
    assert np.array_equal(got[hole == 0], image[hole == 0]), "known pixels are kept"
