"""Writing the colour output safely: a raw temp GeoTIFF while tiles stream in, then a COG, then rename.

Blended rows arrive in arbitrary window shapes, which compressed GeoTIFF blocks do not like being
written in pieces; so the mosaic is first written to an uncompressed tiled temp file next to OUT,
then copied once to a compressed, tiled Cloud Optimized GeoTIFF (with overviews) or a plain tiled
GeoTIFF, and only then renamed onto OUT. A crash at any point leaves OUT as it was.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any

from geocolor.errors import GeocolorIOError, OutputExistsError

log = logging.getLogger(__name__)


def check_output(dst: Path, src: Path, overwrite: bool) -> None:
    """Refuse to clobber an existing file (or the input) and fail early on an unwritable folder."""
    if dst.resolve() == src.resolve():
        raise OutputExistsError(f"output {dst} is the input; choose another output path")
    if dst.exists() and not overwrite:
        raise OutputExistsError(f"{dst} exists; pass --overwrite to replace it")
    if dst.is_dir():
        raise OutputExistsError(f"{dst} is a folder; give an output file name")
    folder = dst.parent
    if not folder.is_dir():
        raise GeocolorIOError(f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise GeocolorIOError(f"output folder {folder} is not writable")


def temp_paths(dst: Path) -> tuple[Path, Path]:
    """This process's temp files for ``dst`` (``.NAME.PID.raw.tif``, ``.NAME.PID.tmp.tif``).

    Temp files of ``dst`` left by processes that no longer run (a ``kill -9``) are removed first.
    """
    remove_stale_temps(dst)
    stem = f".{dst.name}.{os.getpid()}"
    return dst.parent / f"{stem}.raw.tif", dst.parent / f"{stem}.tmp.tif"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (on this machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def remove_stale_temps(dst: Path) -> list[Path]:
    """Delete ``dst``'s temp files (and their ``.ovr``/``.aux.xml`` side files) whose writer process is gone."""
    import re

    pattern = re.compile(rf"^\.{re.escape(dst.name)}\.(\d+)\.(raw|tmp)\.tif(\.ovr|\.aux\.xml|\.ovr\.tmp)?$")
    removed = []
    try:
        entries = list(dst.parent.iterdir())
    except OSError:
        return removed
    for path in entries:
        m = pattern.match(path.name)
        if m and int(m.group(1)) != os.getpid() and not pid_alive(int(m.group(1))):
            try:
                path.unlink()
                removed.append(path)
            except OSError:
                pass
    return removed


def create_raw(path: Path, src: Any, **profile: Any) -> Any:
    """An uncompressed tiled temp GeoTIFF of ``src``'s size and georeferencing (CRS + transform, or GCPs).

    ``profile`` gives the bands (``count``, ``dtype``, ``nodata``, ``photometric``...).
    """
    import rasterio

    full = {"driver": "GTiff", "width": src.width, "height": src.height, "tiled": True, "blockxsize": 256,
            "blockysize": 256, "BIGTIFF": "IF_SAFER", **profile}
    if src.crs is not None or not src.transform.is_identity:
        full.update(crs=src.crs, transform=src.transform)
    try:
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)  # plain scans: said once by colorize()
            dst = rasterio.open(path, "w", **full)
    except (rasterio.errors.RasterioIOError, OSError) as e:
        raise GeocolorIOError(f"cannot write in {path.parent}: {str(e).splitlines()[0][:150]}") from None
    gcps, gcp_crs = src.gcps
    if gcps and src.crs is None:
        dst.gcps = (gcps, gcp_crs)
    return dst


def open_raw(path: Path, src: Any, tags: dict[str, str]) -> Any:
    """Create the uncompressed tiled 3-band temp file with the input's georeferencing."""
    dst = create_raw(path, src, count=3, dtype="uint8", photometric="RGB")
    dst.update_tags(**tags)
    for band, name in enumerate(("red", "green", "blue"), start=1):
        dst.set_band_description(band, name)
    return dst


def finalize(raw: Path, tmp: Path, dst: Path, cog: bool, compress: str) -> None:
    """Copy the raw temp file to a compressed GeoTIFF/COG at ``tmp``, then rename it onto ``dst``."""
    import rasterio
    from rasterio.shutil import copy as rio_copy

    opts: dict[str, Any] = {"COMPRESS": compress.upper(), "NUM_THREADS": "ALL_CPUS", "BIGTIFF": "IF_SAFER"}
    if compress.lower() in ("deflate", "lzw", "zstd"):
        opts["PREDICTOR"] = 2
    if compress.lower() in ("deflate", "zstd"):
        opts["LEVEL"] = 1  # same size as level 6 on 8-bit imagery with the predictor, 35 % faster
    try:
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
            if cog:
                # AVERAGE suits imagery overviews and is ~25 % faster here than the driver's default
                rio_copy(str(raw), str(tmp), driver="COG", BLOCKSIZE=512, OVERVIEWS="AUTO", OVERVIEW_RESAMPLING="AVERAGE", **opts)
            else:
                rio_copy(str(raw), str(tmp), driver="GTiff", TILED="YES", BLOCKXSIZE=512, BLOCKYSIZE=512, **opts)
        os.replace(tmp, dst)
    except (rasterio.errors.RasterioIOError, OSError) as e:
        raise GeocolorIOError(f"writing {dst} failed: {str(e).splitlines()[0][:150]}") from None


def remove_quietly(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink(missing_ok=True)
