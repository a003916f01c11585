"""One tile from server bytes to a georeferenced GeoTIFF: decode, validate, classify, write atomically.

A server answer is classified as

* ``ok``      – an image of the right size with data: written as a GeoTIFF;
* ``blank``   – an image of the right size but fully transparent or of one single colour (an empty tile);
* ``missing`` – the server says there is no tile there (404, 410, 204);
* ``error``   – HTTP 200 that is not a usable image: an XML/JSON/HTML error body, a body that does not
  decode, the wrong size, or a checksum the user listed as the server's error image;
* ``failed``  – the request itself failed (retries exhausted, or a 4xx such as 401/403);
* ``pending`` – not attempted yet (the run was cancelled first).

``ok``, ``blank`` and ``missing`` are final; the others are fetched again by a re-run.

Every written tile is RGBA uint8 (gray and palette images are expanded; the alpha band carries the
image's own transparency or mask), tiled and deflate-compressed, with the CRS and transform of its
tile in the tile matrix set. It is written to a temporary name beside its final path, flushed to disk
and renamed: a tile path either does not exist or holds a complete tile.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from geocolor.aoi import Bounds
from geocolor.files import atomic_path
from geocolor.harvest.fetcher import Response
from geocolor.types import UInt8Array

TEMP_SUFFIX = ".part"
_NON_IMAGE = ("xml", "json", "html", "text/")


class TileStatus(StrEnum):
    OK = "ok"
    BLANK = "blank"
    MISSING = "missing"
    ERROR = "error"
    FAILED = "failed"
    PENDING = "pending"  # not attempted (the run was cancelled first)

    @property
    def final(self) -> bool:
        """Whether a re-run may skip a tile in this state."""
        return self in (TileStatus.OK, TileStatus.BLANK, TileStatus.MISSING)


class TileDecodeError(ValueError):
    """The bytes are not an image GDAL can decode into 8-bit colour."""


@dataclass(frozen=True)
class Classified:
    """A server answer judged: its status, the RGBA pixels when it is data, and why when it is not."""

    status: TileStatus
    rgba: UInt8Array | None = None
    message: str = ""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def classify(resp: Response, width: int, height: int, error_checksums: frozenset[str] = frozenset()) -> Classified:
    """Judge one final server answer for a tile expected to be ``width`` x ``height`` pixels."""
    if resp.status in (204, 404, 410):
        return Classified(TileStatus.MISSING, message=f"HTTP {resp.status}")
    if resp.status != 200:
        return Classified(TileStatus.FAILED, message=f"HTTP {resp.status}: {_snippet(resp.content)}")
    ctype = resp.content_type.lower()
    if any(marker in ctype for marker in _NON_IMAGE):
        return Classified(TileStatus.ERROR, message=f"server sent {ctype or 'no content type'} instead of an image: {_snippet(resp.content)}")
    if error_checksums and sha256(resp.content) in error_checksums:
        return Classified(TileStatus.ERROR, message="the server's known error image")
    try:
        rgba = decode_image(resp.content)
    except TileDecodeError as e:
        return Classified(TileStatus.ERROR, message=str(e))
    if rgba.shape[1:] != (height, width):
        return Classified(TileStatus.ERROR, message=f"tile is {rgba.shape[2]}x{rgba.shape[1]} px, expected {width}x{height}")
    if is_blank(rgba):
        return Classified(TileStatus.BLANK, message="fully transparent or a single colour")
    return Classified(TileStatus.OK, rgba=rgba)


def _snippet(content: bytes, n: int = 200) -> str:
    return " ".join(content[:n].decode("utf-8", "replace").split())


def decode_image(content: bytes) -> UInt8Array:
    """Decode PNG/JPEG/WebP/GIF/TIFF bytes into a (4, height, width) uint8 RGBA array.

    Pillow decodes the web formats (thread-safe, and gray, palette and ``tRNS`` transparency become
    RGBA); TIFF tiles go through GDAL, which also knows their masks and nodata.
    """
    if not content:
        raise TileDecodeError("empty body")
    if content[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):  # TIFF and BigTIFF
        return _decode_tiff(content)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as img:
            _check_pixels(*img.size)  # from the header, before anything is decoded
            img.load()
            if img.mode not in _PIL_8BIT:
                raise TileDecodeError(f"tile is {img.mode}, geocolor harvests 8-bit colour tiles")
            rgba = np.asarray(img.convert("RGBA"))
    except Image.DecompressionBombError as e:
        raise TileDecodeError(f"tile refused before decoding: {e}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise TileDecodeError(f"body does not decode as an image ({e})") from e
    return np.ascontiguousarray(np.moveaxis(rgba, -1, 0))


MAX_TILE_PIXELS = 4096 * 4096  # a tile claiming more is refused before it is decoded (decompression bombs)


def _check_pixels(width: int, height: int, bands: int = 4) -> None:
    if width * height > MAX_TILE_PIXELS or bands > 16:
        raise TileDecodeError(f"tile claims {width} x {height} pixels x {bands} bands, more than a tile can be; not decoded")


_PIL_8BIT = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "La")


def _decode_tiff(content: bytes) -> UInt8Array:
    from rasterio.enums import ColorInterp
    from rasterio.errors import RasterioIOError
    from rasterio.io import MemoryFile

    try:
        with MemoryFile(content) as mem, mem.open() as ds:
            _check_pixels(ds.width, ds.height, ds.count)  # a sparse 60000^2 TIFF is a few bytes on the wire
            if ds.dtypes[0] != "uint8":
                raise TileDecodeError(f"tile is {ds.dtypes[0]}, geocolor harvests 8-bit colour tiles")
            interp = ds.colorinterp
            if interp[0] == ColorInterp.palette:
                return _expand_palette(ds.read(1), ds.colormap(1), ds.dataset_mask())
            if ds.count == 4 and interp[3] == ColorInterp.alpha:
                return ds.read()
            rgb = ds.read([1, 2, 3]) if ds.count >= 3 else np.repeat(ds.read([1]), 3, axis=0)
            return np.concatenate([rgb, ds.dataset_mask()[None]], axis=0)
    except RasterioIOError as e:
        raise TileDecodeError(f"body does not decode as an image ({e})") from e


def _expand_palette(index: UInt8Array, colormap: dict[int, tuple[int, ...]], mask: UInt8Array) -> UInt8Array:
    lut = np.zeros((256, 4), dtype=np.uint8)
    for value, entry in colormap.items():
        lut[value] = (list(entry) + [255])[:4]
    rgba = np.moveaxis(lut[index], -1, 0).copy()
    rgba[3] = np.minimum(rgba[3], mask)
    return rgba


def is_blank(rgba: UInt8Array) -> bool:
    """Fully transparent, or every pixel the same colour (a server's empty tile)."""
    if not rgba[3].any():
        return True
    return all(band.min() == band.max() for band in rgba)


def write_geotiff(path: Path, rgba: UInt8Array, crs: Any, bounds: Bounds, tags: dict[str, str]) -> tuple[str, int]:
    """Write ``rgba`` as a georeferenced GeoTIFF at ``path`` atomically; its (sha256, size in bytes).

    A failure to write raises ``GeocolorIOError`` naming ``path`` and leaves neither tile nor temp file.
    """
    import rasterio
    from affine import Affine

    _, height, width = rgba.shape
    left, bottom, right, top = bounds
    profile: dict[str, Any] = {
        "driver": "GTiff", "width": width, "height": height, "count": 4, "dtype": "uint8", "crs": crs,
        "transform": Affine((right - left) / width, 0.0, left, 0.0, -(top - bottom) / height, top), "photometric": "RGB", "alpha": "YES",
        "compress": "DEFLATE", "predictor": 2, "zlevel": 3,  # level 3: 3x faster than 6, 4% bigger
    }
    if width % 16 == 0 and height % 16 == 0:
        profile.update(tiled=True, blockxsize=min(width, 512), blockysize=min(height, 512))
    with atomic_path(path, suffix=TEMP_SUFFIX, fsync=True) as tmp:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(rgba)
            dst.update_tags(**tags)
        data = tmp.read_bytes()
    return sha256(data), len(data)


def file_checksum(path: Path) -> tuple[str, int]:
    """(sha256, size) of a file on disk."""
    data = path.read_bytes()
    return sha256(data), len(data)
