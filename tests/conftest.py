"""Shared fixtures: real-imagery GeoTIFFs in two real CRSs, and a tiny seeded model file.

Fixture rasters are cut from ``../shared/data`` at test time (see its README for sources and
licences); where a fixture gets a CRS the source did not have, the fixture says so.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("GEOCOLOR_SHARED_DATA", REPO.parent / "shared" / "data"))


def pytest_configure(config: pytest.Config) -> None:
    """Silence rasterio's "no geotransform" warning for the plain-image fixtures, where rasterio exists.

    (In the ini file the filter would need rasterio importable even to collect, and the plugin's tests
    run under the system Python, which may not have it.)
    """
    try:
        import rasterio.errors  # noqa: F401
    except ImportError:
        return
    config.addinivalue_line("filterwarnings", "ignore::rasterio.errors.NotGeoreferencedWarning")


def shared(rel: str) -> Path:
    path = SHARED / rel
    if not path.exists():
        pytest.skip(f"shared data {path} not found")
    return path


@pytest.fixture(scope="session")
def naip() -> Path:
    """The shared NAIP 2020 scene (EPSG:26914, RGBN) TiTiler serves."""
    return shared("naip/m_4709963_se_14_1_20200831.tif")


@pytest.fixture(scope="session")
def titiler(naip: Path, tmp_path_factory: pytest.TempPathFactory):  # -> Iterator[str]
    """Base URL of one real TiTiler server (its own process, a free 127.0.0.1 port) for the whole session: the
    harvest, adapt and cluster tests share it."""
    import sys

    pytest.importorskip("titiler.application", reason="TiTiler not installed (pip install titiler.application uvicorn)")
    pytest.importorskip("uvicorn", reason="uvicorn not installed")
    helpers = str(REPO / "tests" / "harvest")
    if helpers not in sys.path:
        sys.path.insert(0, helpers)
    from harvest_helpers import titiler_server

    with titiler_server(tmp_path_factory.mktemp("titiler")) as base:
        yield base


def peak_rss_mb(script: str, *args: object) -> float:
    """Run ``script`` (which prints its ``ru_maxrss`` in KiB last) in a fresh Python; its peak RSS in MB."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.split()[-1]) / 1024


def write_tif(path: Path, data: np.ndarray, crs: str | None, transform, nodata=None, **extra) -> Path:
    import rasterio

    profile = {"driver": "GTiff", "width": data.shape[-1], "height": data.shape[-2], "count": data.shape[0],
               "dtype": data.dtype.name, "nodata": nodata, **extra}
    if crs is not None:
        profile.update(crs=crs, transform=transform)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


@pytest.fixture(scope="session")
def gray_uint8_twd97(tmp_path_factory) -> Path:
    """Real NAIP colour (2020) reduced to gray L*, 700 x 520, uint8, placed in EPSG:3826 (TWD97 / TM2).

    The pixels are real; the Taiwanese CRS and transform are assigned for the test (the source is in
    EPSG:26914), which is what the paper's Taipei use case needs: a national grid that is not UTM.
    """
    import rasterio
    from rasterio.transform import from_origin

    from geocolor.color import lightness_to_gray, rgb_to_lab

    with rasterio.open(shared("naip/m_4709963_se_14_1_20200831.tif")) as src:
        rgb = src.read([1, 2, 3], window=((0, 520), (0, 700))).astype(np.float32) / 255
    lum = rgb_to_lab(np.moveaxis(rgb, 0, -1))[..., 0]
    gray = np.round(lightness_to_gray(lum) * 255).astype(np.uint8)[None]
    path = tmp_path_factory.mktemp("fixtures") / "gray_twd97.tif"
    return write_tif(path, gray, "EPSG:3826", from_origin(302000.0, 2772000.0, 2.0, 2.0))


@pytest.fixture(scope="session")
def uint16_nodata_utm(tmp_path_factory) -> Path:
    """Real SpaceNet panchromatic uint16 (EPSG:32616, 0.5 m) with a nodata collar (value 0) added
    along the top-left corner, as on a scanned frame."""
    import rasterio

    with rasterio.open(shared("spacenet_pan/sample_geotiff.tif")) as src:
        data = src.read()
        transform, crs = src.transform, src.crs
    yy, xx = np.mgrid[: data.shape[1], : data.shape[2]]
    data[0][(xx + yy) < 180] = 0
    data[0][:, :12] = 0
    path = tmp_path_factory.mktemp("fixtures") / "pan_uint16_nodata.tif"
    return write_tif(path, data, crs.to_string(), transform, nodata=0)


NAN_BLOCK = (slice(100, 130), slice(100, 130))  # where float_with_nonfinite puts NaN
INF_BLOCK = (slice(20, 30), slice(200, 220))  # and +inf


def float_with_nonfinite(path: Path, size: int = 256) -> Path:
    """A float32 gray GeoTIFF (values 100..3000, EPSG:32631) with a NaN block and an infinite block."""
    import rasterio

    data = np.random.default_rng(0).uniform(100.0, 3000.0, (1, size, size)).astype(np.float32)
    data[(0, *NAN_BLOCK)] = np.nan
    data[(0, *INF_BLOCK)] = np.inf
    return write_tif(path, data, "EPSG:32631", rasterio.transform.from_origin(500000, 4000000, 0.5, 0.5))


def make_tiny_model(path: Path, ngf: int = 4, seed: int = 0, gain: float = 0.3) -> Path:
    """A seeded, untrained U-Net model file: fast, and its output has plenty of colour.

    With the default ``gain`` its activations are huge, so float rounding anywhere changes a few
    pixels a lot; comparisons between engines use ``gain=0.1``, which still colours.
    """
    import torch

    from geocolor.models.generators import GENERATORS
    from geocolor.models.init import init_weights
    from geocolor.models.io import write_model_file

    torch.manual_seed(seed)
    arch = {"generator": "unet_256", "in_channels": 1, "out_channels": 2, "ngf": ngf, "norm": "batch", "dropout": False}
    net = init_weights(GENERATORS["unet_256"](1, 2, ngf=ngf, norm="batch"), "normal", gain)
    meta = {"name": "tiny", "architecture": arch, "color_space": "lab", "tile_size": 256, "tile_multiple": 256,
            "normalization": {"l_offset": 50.0, "l_scale": 50.0, "ab_scale": 110.0}}
    return write_model_file(path, net.state_dict(), meta)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("models") / "tiny.pt")


@pytest.fixture(scope="session")
def default_model() -> Path:
    from geocolor.models import DEFAULT_MODEL

    if not DEFAULT_MODEL.exists():
        pytest.fail(f"the shipped default model {DEFAULT_MODEL} is missing")
    return DEFAULT_MODEL
