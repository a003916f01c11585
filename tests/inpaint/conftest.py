"""Fixtures for inpainting tests: a tiny seeded (untrained) inpainting model file and real rasters with holes.

Rasters are cut from ``../shared/data`` at test time (see its README for sources and licences).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared, write_tif


def make_tiny_inpaint_model(path: Path, channels: int = 1, ngf: int = 4, tile: int = 128, seed: int = 0) -> Path:
    import torch

    from geocolor.inpaint.model import normalization
    from geocolor.models.generators import GENERATORS
    from geocolor.models.init import init_weights
    from geocolor.models.io import write_model_file

    torch.manual_seed(seed)
    arch = {"generator": "dense_unet", "in_channels": channels + 1, "out_channels": channels, "ngf": ngf, "norm": "batch", "dropout": False}
    net = init_weights(GENERATORS["dense_unet"](channels + 1, channels, ngf=ngf), "normal", 0.02)
    meta = {"name": "tiny-inpaint", "task": "inpaint", "channels": channels, "architecture": arch,
            "color_space": "gray" if channels == 1 else "rgb", "tile_size": tile, "tile_multiple": 32,
            "normalization": normalization()}
    return write_model_file(path, net.state_dict(), meta)


@pytest.fixture(scope="session")
def tiny_inpaint_model(tmp_path_factory) -> Path:
    return make_tiny_inpaint_model(tmp_path_factory.mktemp("models") / "tiny_inpaint.pt")


@pytest.fixture(scope="session")
def naip_gray_with_holes(tmp_path_factory) -> Path:
    """Real NAIP (2018) green band, 300 x 260, EPSG:26914 (its own CRS), nodata 0, with holes cut in:
    a 24 x 30 box (fillable), a few dust specks (fillable) and a 20 px collar down the left edge
    (260 px tall: too large to fill at the default max hole)."""
    import rasterio

    with rasterio.open(shared("naip/m_4709963_se_14_1_20180716.tif")) as src:
        data = src.read([2], window=((100, 360), (200, 500)))
        transform = src.window_transform(((100, 360), (200, 500)))
        crs = src.crs.to_string()
    data[data == 0] = 1  # real zeros would read as nodata
    data[0, 120:144, 150:180] = 0
    for y, x in ((40, 60), (200, 250), (90, 220)):
        data[0, y : y + 3, x : x + 3] = 0
    data[0, :, :20] = 0
    path = tmp_path_factory.mktemp("fixtures") / "naip_holes.tif"
    return write_tif(path, data, crs, transform, nodata=0)


def holes_of(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as ds:
        return ds.dataset_mask() == 0


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """One intra-op thread: on a shared 2-core machine two threads spin-wait for each other (several times slower)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
