"""The raster layer shared by mosaic, inpaint, style, metrics and dataset: opening inputs, choosing
their bands, scaling them to luminance, and writing GeoTIFF outputs that never appear half-written.

Reading
-------
``open_raster`` opens any GDAL-readable file and turns every failure into a one-line ``InputError``.
What counts as luminance (``plan_input`` and ``to_lightness``):

- one band (or gray + alpha): the band, read as an sRGB gray image; uint8 is used as is, other types
  (uint16 scans, floats) are stretched between two percentiles measured on a decimated read
  (``band_percentiles``);
- three bands (or RGB + alpha): taken as sRGB colour and reduced to its L*;
- anything else needs ``bands=`` (one band, or three), so the user says which bands are meant.

``dataset_mask`` carries nodata values, alpha bands and internal masks alike.

Writing
-------
Output arrives in window shapes that compressed GeoTIFF blocks do not like being written in pieces;
so an output is first written to an uncompressed tiled temp file next to OUT (``create_raw``), then
copied once to a compressed, tiled Cloud Optimized GeoTIFF (with overviews) or plain tiled GeoTIFF
and only then renamed onto OUT (``finalize``). A crash at any point leaves OUT as it was. The temp
files carry the writer's process id (``temp_paths``), so the next run on the same OUT removes those
of a killed run (``remove_stale_temps``).

rasterio is imported inside the functions: importing this module needs only numpy.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geocolor.color import gray_to_lightness, rgb_to_lab, uint8_lightness_lut
from geocolor.errors import GeocolorIOError, InputError, OutputExistsError
from geocolor.types import RasterReader, RasterWriter

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------- reading


def open_raster(path: str | os.PathLike[str]) -> RasterReader:
    """``rasterio.open(path)`` for reading, quiet about missing georeferencing; a one-line ``InputError`` on failure."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    try:
        with warnings.catch_warnings():
            # a scan or painting without georeferencing is fine: the callers say so in one line
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path)
    except RasterioIOError as e:
        msg = str(e).splitlines()[0] if str(e) else "unreadable"
        if "No such file" in msg or "does not exist" in msg:
            raise InputError(f"input {path} does not exist") from None
        raise InputError(f"{path} is not a raster GDAL can read ({msg[:150]})") from None


def is_georeferenced(ds: RasterReader) -> bool:
    """True when ``ds`` has a CRS, a non-identity transform or ground control points."""
    return ds.crs is not None or not ds.transform.is_identity or bool(ds.gcps[0])


def alpha_band(ds: RasterReader) -> int | None:
    """The (1-based) index of ``ds``'s first alpha band, or None."""
    from rasterio.enums import ColorInterp

    return next((i + 1 for i, c in enumerate(ds.colorinterp) if c == ColorInterp.alpha), None)


def image_bands(ds: RasterReader) -> list[int]:
    """The (1-based) indexes of ``ds``'s bands that are not alpha bands."""
    from rasterio.enums import ColorInterp

    return [i + 1 for i, c in enumerate(ds.colorinterp) if c != ColorInterp.alpha]


def require_real(ds: RasterReader, bands: list[int] | tuple[int, ...]) -> None:
    """Raise ``InputError`` when one of ``bands`` holds complex values (radar data, not an image)."""
    if any(np.dtype(ds.dtypes[b - 1]).kind == "c" for b in bands):
        raise InputError(f"{ds.name} has complex-valued bands, which are not images")


def decimated_shape(ds: RasterReader, max_side: int) -> tuple[int, int]:
    """(height, width) of a read of ``ds`` reduced by a whole factor so its longer side is at most ``max_side``."""
    factor = max(1, int(np.ceil(max(ds.width, ds.height) / max_side)))
    return max(1, ds.height // factor), max(1, ds.width // factor)


def band_percentiles(ds: RasterReader, bands: tuple[int, ...], pct: tuple[float, float], max_side: int = 1024) -> tuple[float, float]:
    """Two percentiles of the valid pixels of ``bands`` together, on a decimated read (bounded memory, whatever the size).

    Nodata, masked and non-finite pixels are left out; ``InputError`` when none is left. The second
    value is at least the first plus one, so it can be used as a stretch.
    """
    shape = decimated_shape(ds, max_side)
    data = ds.read(list(bands), out_shape=(len(bands), *shape), masked=True)
    valid = data.compressed() if np.ma.isMaskedArray(data) else data.ravel()
    valid = valid[np.isfinite(valid)] if valid.dtype.kind == "f" else valid
    if valid.size == 0:
        raise InputError(f"{ds.name} holds no valid pixels (all nodata)")
    lo, hi = (float(v) for v in np.percentile(valid, pct))
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


@dataclass(frozen=True)
class InputPlan:
    """How to read the input: which bands, and how to scale them to [0, 1]."""

    bands: tuple[int, ...]
    lo: float
    hi: float
    uint8: bool


def plan_input(ds: RasterReader, bands: tuple[int, ...] | None = None, percentiles: tuple[float, float] = (0.5, 99.5)) -> InputPlan:
    """Choose bands and the value scaling for ``ds``; raise ``InputError`` for unusable inputs."""
    name = ds.name
    if ds.count == 0:
        raise InputError(f"{name} has no raster bands")
    if bands:
        if len(bands) not in (1, 3) or any(b < 1 or b > ds.count for b in bands):
            raise InputError(f"--bands {','.join(map(str, bands))} must name 1 or 3 of the input's bands 1..{ds.count}")
        chosen = tuple(bands)
    else:
        colour = image_bands(ds)
        if len(colour) in (1, 3):
            chosen = tuple(colour)
        else:
            raise InputError(
                f"{name} has {ds.count} bands; choose the gray band with --bands N (or three colour bands with --bands R,G,B)"
            )
    require_real(ds, chosen)
    dtypes = {ds.dtypes[b - 1] for b in chosen}
    if dtypes == {"uint8"}:
        return InputPlan(chosen, 0.0, 255.0, True)
    lo, hi = band_percentiles(ds, chosen, percentiles)
    log.info("stretching %s values %.4g..%.4g to the full gray range", ",".join(dtypes), lo, hi)
    return InputPlan(chosen, lo, hi, False)


_LUT = uint8_lightness_lut()


def to_lightness(data: np.ndarray, plan: InputPlan) -> np.ndarray:
    """Bands (B, H, W) of the input -> L* (H, W) float32 in [0, 100]."""
    if plan.uint8 and data.shape[0] == 1:
        return _LUT[data[0]]
    scaled = data.astype(np.float32)
    if not plan.uint8 or plan.lo != 0 or plan.hi != 255:
        scaled = (scaled - plan.lo) / (plan.hi - plan.lo)
    else:
        scaled /= 255.0
    scaled = np.nan_to_num(np.clip(scaled, 0.0, 1.0), nan=0.0)
    if data.shape[0] == 1:
        return gray_to_lightness(scaled[0]).astype(np.float32)
    return rgb_to_lab(np.moveaxis(scaled, 0, -1))[..., 0].astype(np.float32)


def read_rgb(path: str | os.PathLike[str], bands: tuple[int, ...] | list[int] = (1, 2, 3)) -> np.ndarray:
    """The 8-bit ``bands`` of a whole raster as H x W x 3 (one per band) uint8; nodata / alpha / masked pixels are 0.

    The rule training sources are read by (``geocolor.train.data``), so anything measured on its
    output (crops, valid pixels) matches what the trainer sees. ``InputError`` for an unreadable file,
    bands it does not have, or data that is not 8-bit.
    """
    from rasterio.enums import MaskFlags

    with open_raster(path) as ds:
        if max(bands) > ds.count:
            raise InputError(f"{path} has {ds.count} bands; bands {list(bands)} were asked for")
        rgb = ds.read(list(bands))
        if rgb.dtype != np.uint8:
            raise InputError(f"{path}: colour sources must be 8-bit, got {rgb.dtype}")
        all_valid = all(MaskFlags.all_valid in flags for flags in ds.mask_flag_enums)
        mask = None if all_valid else ds.dataset_mask()
    rgb = np.ascontiguousarray(rgb.transpose(1, 2, 0))
    if mask is not None:
        rgb[mask == 0] = 0
    return rgb


def gdal_env(cache_mb: int, **options: Any) -> Any:
    """``rasterio.Env`` with a GDAL block cache of ``cache_mb`` megabytes (and any other config ``options``).

    rasterio hands an integer ``GDAL_CACHEMAX`` to ``GDALSetCacheMax64``, which counts *bytes*: a bare
    ``GDAL_CACHEMAX=64`` leaves a 64-byte cache, every compressed block is then decoded again on each
    read and flushed half-written on each write (slow, and a bloated output).
    """
    import rasterio

    return rasterio.Env(GDAL_CACHEMAX=int(cache_mb) * 2**20, **options)


# ---------------------------------------------------------------------------------------- writing


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
    """Delete ``dst``'s temp files (and their ``.ovr``/``.aux.xml`` side files) whose writer process is gone.

    Only names made by ``temp_paths`` match; ``geocolor.files`` temp files (``.NAME.XXXXXXXX.tmp``) never do.
    """
    pattern = re.compile(rf"^\.{re.escape(dst.name)}\.(\d+)\.(raw|tmp)\.tif(\.ovr|\.aux\.xml|\.ovr\.tmp)?$")
    removed: list[Path] = []
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


def create_raw(path: Path, src: RasterReader, **profile: Any) -> RasterWriter:
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
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)  # plain scans: said once by the caller
            dst = rasterio.open(path, "w", **full)
    except (rasterio.errors.RasterioIOError, OSError) as e:
        raise GeocolorIOError(f"cannot write in {path.parent}: {str(e).splitlines()[0][:150]}") from None
    gcps, gcp_crs = src.gcps
    if gcps and src.crs is None:
        dst.gcps = (gcps, gcp_crs)
    return dst


def compression_options(compress: str) -> dict[str, Any]:
    """GDAL creation options for ``compress`` (deflate, lzw, zstd, jpeg, none) on 8-bit imagery."""
    opts: dict[str, Any] = {"COMPRESS": compress.upper()}
    if compress.lower() in ("deflate", "lzw", "zstd"):
        opts["PREDICTOR"] = 2
    if compress.lower() == "deflate":
        opts["ZLEVEL"] = 1  # same size as level 6 on 8-bit imagery with the predictor, 35 % faster
    if compress.lower() == "zstd":
        opts["ZSTD_LEVEL"] = 1
    return opts


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


def overview_factors(width: int, height: int, block: int = 512) -> list[int]:
    """Overview decimation factors 2, 4, ... until the coarsest level fits in one ``block`` (as the COG driver's AUTO)."""
    factors: list[int] = []
    factor = 1
    while -(-width // factor) > block or -(-height // factor) > block:
        factor *= 2
        factors.append(factor)
    return factors


def add_overviews(path: Path, compress: str) -> None:
    """Build internal overviews (average) in the tiled GeoTIFF at ``path``: one read of full resolution, which
    is not rewritten; the overview levels are compressed with ``compress`` (``compression_options``)."""
    import rasterio
    from rasterio.enums import Resampling

    overview_options = {f"{k}_OVERVIEW": v for k, v in compression_options(compress).items()}
    overview_options["GDAL_TIFF_OVR_BLOCKSIZE"] = 512

    try:
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True, GDAL_NUM_THREADS="ALL_CPUS", **overview_options), rasterio.open(path, "r+") as ds:
            factors = overview_factors(ds.width, ds.height)
            if factors:
                ds.build_overviews(factors, Resampling.average)
    except (rasterio.errors.RasterioIOError, OSError) as e:
        raise GeocolorIOError(f"adding overviews to {path.name} failed: {str(e).splitlines()[0][:150]}") from None


def publish(tmp: Path, dst: Path) -> None:
    """Rename the finished temp file onto ``dst`` (atomic)."""
    try:
        os.replace(tmp, dst)
    except OSError as e:
        raise GeocolorIOError(f"writing {dst} failed: {e.strerror or e}") from None


def remove_quietly(*paths: Path) -> None:
    """Delete files that may or may not exist, ignoring errors (temp-file cleanup)."""
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink(missing_ok=True)
