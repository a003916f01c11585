"""Fixtures for the dataset builder tests.

Real imagery comes from ``../shared/data`` (see its README for sources and licences): the NAIP scene
``m_4709963_se_14_1_20090818.tif`` (US public domain; EPSG:26914, 5 m, RGBN, nodata 0) and the
SpaceNet panchromatic ``pan1.tif`` (CC BY-SA 4.0, attribute SpaceNet). Rasters with planted nodata,
flat, cloud-white and duplicate areas, and a folder of tiles, are cut from the NAIP scene by the
seeded code below into pytest's temporary folder; nothing is copied into the repository.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.windows import Window

from tests.conftest import SHARED

NAIP = SHARED / "naip" / "m_4709963_se_14_1_20090818.tif"
NAIP_2010 = SHARED / "naip" / "m_4709963_se_14_1_20100629.tif"
PAN = SHARED / "spacenet_pan" / "pan1.tif"
CHIP = 64  # chip size used throughout: small, so a build of the NAIP scene takes a second or two

# Planted chips (row, col) on the 64 px grid of the planted raster.
NODATA_CHIPS = [(r, c) for r in (0, 64, 128) for c in (0, 64, 128, 192, 256)]
PARTIAL_KEPT = (192, 0)  # 3 % nodata: kept, its nodata pixels black
PARTIAL_SKIPPED = (192, 64)  # 20 % nodata: skipped
BLANK = (384, 0)
CLOUD = (384, 128)
DUPLICATE_OF, DUPLICATE = (512, 640), (512, 768)


def _need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return path


@pytest.fixture(scope="session")
def naip() -> Path:
    return _need(NAIP)


@pytest.fixture(scope="session")
def pan() -> Path:
    return _need(PAN)


def _copy_with(path: Path, out: Path, edit: object) -> Path:
    with rasterio.open(path) as ds:
        data = ds.read()
        profile = ds.profile
    edit(data)  # type: ignore[operator]
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data)
    return out


@pytest.fixture(scope="session")
def planted(naip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The NAIP scene with nodata, a flat chip, a cloud-white chip and a duplicated chip planted on the 64 px grid."""
    rng = np.random.default_rng(4)

    def edit(data: np.ndarray) -> None:
        data[:, 0:192, 0:320] = 0
        r, c = PARTIAL_KEPT
        data[:, r : r + 2, c : c + 64] = 0  # 2 of 64 rows: 3 %
        r, c = PARTIAL_SKIPPED
        data[:, r : r + 13, c : c + 64] = 0  # 13 of 64 rows: 20 %
        r, c = BLANK
        data[:, r : r + 64, c : c + 64] = 120
        r, c = CLOUD
        data[:3, r : r + 64, c : c + 64] = rng.integers(236, 256, size=(64, 64), dtype=np.uint8)
        (r0, c0), (r1, c1) = DUPLICATE_OF, DUPLICATE
        data[:, r1 : r1 + 64, c1 : c1 + 64] = data[:, r0 : r0 + 64, c0 : c0 + 64]

    return _copy_with(naip, tmp_path_factory.mktemp("planted") / "planted.tif", edit)


@pytest.fixture(scope="session")
def tile_folder(naip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The NAIP scene cut into four GeoTIFF tiles of 500 x 400 px (edges not on the chip grid)."""
    folder = tmp_path_factory.mktemp("tiles")
    with rasterio.open(naip) as ds:
        profile = ds.profile
        for i, (row, col) in enumerate([(0, 0), (0, 500), (400, 0), (400, 500)]):
            win = Window(col, row, min(500, ds.width - col), min(400, ds.height - row))
            p = dict(profile, width=int(win.width), height=int(win.height), transform=ds.window_transform(win), tiled=False)
            p.pop("blockxsize", None)
            p.pop("blockysize", None)
            with rasterio.open(folder / f"tile_{i}.tif", "w", **p) as dst:
                dst.write(ds.read(window=win))
    return folder


@pytest.fixture(scope="session")
def no_crs(naip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 256 x 256 crop of the NAIP scene as a PNG: colour, but no CRS."""
    from PIL import Image

    with rasterio.open(naip) as ds:
        rgb = ds.read([1, 2, 3], window=Window(300, 300, 256, 256)).transpose(1, 2, 0)
    out = tmp_path_factory.mktemp("nocrs") / "crop.png"
    Image.fromarray(rgb).save(out)
    return out


def clean_chips(naip: Path, n: int = 6) -> list[np.ndarray]:
    """A few 128 px L* gray chips of the NAIP scene, for the film tests."""
    from geocolor.dataset.gray import lstar_gray

    with rasterio.open(naip) as ds:
        out = []
        for k in range(n):
            win = Window(64 + 128 * k, 200 + 40 * (k % 3), 128, 128)
            out.append(lstar_gray(ds.read([1, 2, 3], window=win).transpose(1, 2, 0)))
    return out


def build(src: Path | list[Path], out: Path, **settings: object):  # noqa: ANN201 - DatasetResult
    """Build a small dataset quietly (64 px chips, preview off unless asked)."""
    from geocolor.dataset.build import build_dataset
    from geocolor.dataset.config import DatasetConfig

    paths = [str(p) for p in (src if isinstance(src, list) else [src])]
    settings = {"size": CHIP, "preview": 0, **settings}
    return build_dataset(DatasetConfig(src=paths, out=str(out), **settings), show_progress=False)  # type: ignore[arg-type]
