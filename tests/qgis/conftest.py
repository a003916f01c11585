"""Make the plugin package ``geocolor_qgis`` (in ``qgis_plugin/``) importable for the pure-Python tests."""

from __future__ import annotations

import sys
from pathlib import Path

PLUGIN_ROOT = Path(__file__).resolve().parents[2] / "qgis_plugin"
if str(PLUGIN_ROOT) not in sys.path:
    sys.path.insert(0, str(PLUGIN_ROOT))

import pytest  # noqa: E402

from tests.conftest import write_tif  # noqa: E402
from tests.inpaint.conftest import make_tiny_inpaint_model  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "geocolor" / "data" / "sample_gray_uint16.tif"
HOLE = (slice(100, 124), slice(90, 120))  # rows, cols of the nodata box cut into ``gray_with_hole``


@pytest.fixture(scope="session")
def tiny_inpaint_model(tmp_path_factory) -> Path:
    """A seeded, untrained gray inpainting model (128 px tiles): fast, and it fills every pixel it is given."""
    return make_tiny_inpaint_model(tmp_path_factory.mktemp("models") / "tiny_inpaint.pt")


@pytest.fixture(scope="session")
def gray_with_hole(tmp_path_factory) -> Path:
    """The real sample photo (uint16, EPSG:32631), its top-left 256 x 256 px, nodata 0, with a 24 x 30 px nodata box."""
    import rasterio

    with rasterio.open(SAMPLE) as src:
        window = ((0, 256), (0, 256))
        data = src.read(window=window)
        transform, crs = src.window_transform(window), src.crs.to_string()
    data[data == 0] = 1  # a real 0 would read as nodata
    data[(0, *HOLE)] = 0
    return write_tif(tmp_path_factory.mktemp("fixtures") / "gray_hole.tif", data, crs, transform, nodata=0)


@pytest.fixture()
def one_torch_thread():
    """One intra-op thread for in-process engine runs: on a shared 2-core machine two threads wait on each other."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
