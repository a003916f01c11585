"""Model metadata checks that need no torch: bounds, types and the metadata checksum.

A geocolor model's metadata (architecture, colour space, tile size, normalisation...) travels in the
``.pt`` model file (``geocolor.models.io``) and, as JSON, in an exported ``.onnx`` file
(``geocolor.models.onnx_file``). Both are checked here, with the same rules, before anything is built
or run; the ONNX engine must work where torch is not installed, so nothing here imports it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from geocolor.errors import ModelFileError

REQUIRED_METADATA = ("architecture", "color_space", "tile_size", "normalization")
BOUNDS = {  # architecture / metadata integers: (low, high), inclusive
    "tile_size": (8, 16384),
    "tile_multiple": (1, 4096),
    "in_channels": (1, 16),
    "out_channels": (1, 16),
    "ngf": (1, 512),
    "style_dim": (1, 256),
    "nz": (1, 256),
    "channels": (1, 16),
}


def metadata_checksum(metadata: dict[str, Any]) -> str:
    """SHA-256 of the metadata as canonical JSON (sorted keys)."""
    return hashlib.sha256(json.dumps(metadata, sort_keys=True, allow_nan=True).encode()).hexdigest()


def bounded_int(value: Any, key: str, where: str) -> int:
    """``value`` as an int, refused (one-line ``ModelFileError``) unless whole and inside ``BOUNDS[key]``."""
    lo, hi = BOUNDS[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or int(value) != value:
        raise ModelFileError(f"{where}: {key} {value!r} is not a whole number")
    if not lo <= int(value) <= hi:
        raise ModelFileError(f"{where}: {key} {int(value)} is outside {lo}..{hi}")
    return int(value)


def validate_metadata(meta: dict[str, Any], where: str = "model file") -> None:
    """Types and bounds of what the metadata asks to build (one-line ``ModelFileError``)."""
    missing = [k for k in REQUIRED_METADATA if k not in meta]
    if missing:
        raise ModelFileError(f"{where} metadata lacks {', '.join(missing)}")
    arch = meta.get("architecture")
    if not isinstance(arch, dict):
        raise ModelFileError(f"{where}: architecture must be a mapping, got {type(arch).__name__}")
    if not isinstance(arch.get("generator"), str):
        raise ModelFileError(f"{where}: architecture.generator must be a name, got {arch.get('generator')!r}")
    for key in ("in_channels", "out_channels", "ngf", "style_dim", "nz"):
        if key in arch:
            bounded_int(arch[key], key, where)
    tile = bounded_int(meta.get("tile_size"), "tile_size", where)
    if "tile_multiple" in meta:
        multiple = bounded_int(meta["tile_multiple"], "tile_multiple", where)
        if tile % multiple:
            raise ModelFileError(f"{where}: tile_size {tile} is not a multiple of tile_multiple {multiple}")
    if not isinstance(meta.get("color_space"), str) or not isinstance(meta.get("normalization"), dict):
        raise ModelFileError(f"{where}: color_space must be a name and normalization a mapping")
    if "channels" in meta:
        bounded_int(meta["channels"], "channels", where)


def first_line(e: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (its type's name when it has none), at most ``limit`` characters."""
    text = str(e).strip().splitlines()
    return text[0][:limit] if text else type(e).__name__


class MetadataView:
    """What every loaded model reads from its file's metadata, whichever engine runs it (a mixin)."""

    metadata: Mapping[str, Any]
    default_tile_multiple: ClassVar[int | None] = None  # when the metadata has none; None: the tile size

    @property
    def tile_size(self) -> int:
        """The tile side (pixels) the model was trained on."""
        return int(self.metadata["tile_size"])

    @property
    def tile_multiple(self) -> int:
        """Tile sides must be a multiple of this (the network's total down-sampling)."""
        return int(self.metadata.get("tile_multiple", self.default_tile_multiple or self.tile_size))

    @property
    def style_conditioned(self) -> bool:
        """True for a stylecolor model, whose generator also takes a style code."""
        return bool((self.metadata.get("style") or {}).get("conditioned"))

    @property
    def channels(self) -> int:
        """Image channels of an inpainting model (1 or 3)."""
        return int(self.metadata["channels"])
