"""Atomic file output for the dataset builder: every file appears whole or not at all.

The writers here are ``geocolor.files``' atomic helpers (a temp file beside the target, renamed over
it): a crash leaves at most a ``.NAME.*.tmp`` file, never a truncated chip, manifest or statistics
file. Readers here are the matching one-liners.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from geocolor.errors import InputError
from geocolor.files import atomic_path, write_bytes_atomic, write_json_atomic, write_text_atomic
from geocolor.types import PathLike

__all__ = ["atomic_path", "read_json", "read_png", "write_bytes", "write_json", "write_png", "write_text"]


def write_bytes(path: PathLike, data: bytes) -> None:
    write_bytes_atomic(path, data)


def write_text(path: PathLike, text: str) -> None:
    write_text_atomic(path, text)


def write_json(path: PathLike, data: Any) -> None:
    write_json_atomic(path, data, indent=2, allow_nan=True)


def write_png(path: PathLike, image: np.ndarray) -> None:
    """Write an H x W (gray) or H x W x 3 (RGB) uint8 array as PNG."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", compress_level=3)
    write_bytes(path, buf.getvalue())


def read_png(path: PathLike, mode: str | None = None) -> np.ndarray:
    """Read an image as a uint8 array; ``mode`` ``"L"`` or ``"RGB"`` converts it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert(mode) if mode else im)
    except FileNotFoundError:
        raise InputError(f"{path} is missing; re-run the dataset command to rebuild it") from None
    except (OSError, UnidentifiedImageError) as e:
        raise InputError(f"cannot read image {path}: {e}") from None


def read_json(path: PathLike) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read {path}: {e}") from None
