"""The geocolor model file: one ``.pt`` file holding weights and the metadata needed to use them.

Layout (a plain dict, saved with ``torch.save`` and read with ``torch.load(weights_only=True)``, so a
file can never run code when loaded)::

    {"format": "geocolor-model", "format_version": 1,
     "metadata": {...},            # JSON-compatible: architecture, colour space, tile, normalisation,
                                   # training data summary, evaluation figures
     "state_dict": {name: tensor}, # weights, fp16 or fp32
     "checksum": "sha256 of the weights",
     "metadata_checksum": "sha256 of the metadata"}

``read_model_file`` validates all of that and raises ``ModelFileError`` with one line naming the
problem (missing, truncated, not a geocolor model, pickled code, modified weights or metadata,
metadata out of bounds). Every byte of a model file is treated as hostile: the metadata is checked
against ``validate_metadata`` (types and bounds of tile size, multiples, channels, widths) before
anything is built, and ``build_checked`` builds the network on the ``meta`` device first (no memory)
and compares every weight's shape with it, so an edited width cannot allocate gigabytes.

Files written before the metadata checksum existed (no ``metadata_checksum``) still load: their
weights are checked as before, their metadata by the bounds; re-saving one with
``write_model_file(path, payload["state_dict"], payload["metadata"])`` adds the checksum.
"""

from __future__ import annotations

import hashlib
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from geocolor.errors import ModelFileError
from geocolor.files import atomic_path
from geocolor.files import make_readable as make_readable  # part of this module's API (the trainer uses it)
from geocolor.models.metadata import REQUIRED_METADATA, first_line, validate_metadata
from geocolor.models.metadata import metadata_checksum as metadata_checksum  # part of this module's API
from geocolor.types import PathLike

FORMAT = "geocolor-model"
FORMAT_VERSION = 1


def build_checked(arch: dict[str, Any], state_dict: dict[str, torch.Tensor], where: str) -> torch.nn.Module:
    """The generator ``arch`` describes with ``state_dict`` loaded, its shapes checked before any allocation."""
    from geocolor.errors import ConfigError
    from geocolor.models.registry import build_generator

    try:
        with torch.device("meta"):
            skeleton = build_generator(arch)
    except (ConfigError, KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{where}: cannot build architecture {arch.get('generator')!r} ({first_line(e)})") from None
    expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    given = {k: tuple(v.shape) for k, v in state_dict.items()}
    if expected.keys() != given.keys():
        missing, extra = sorted(expected.keys() - given.keys()), sorted(given.keys() - expected.keys())
        raise ModelFileError(f"{where}: weights do not fit architecture {arch['generator']!r} "
                             f"(missing {missing[:2]}, unexpected {extra[:2]})")
    wrong = [k for k in expected if expected[k] != given[k]]
    if wrong:
        k = wrong[0]
        raise ModelFileError(f"{where}: weights do not fit architecture {arch['generator']!r} "
                             f"({k} is {list(given[k])}, the architecture needs {list(expected[k])})")
    net = build_generator(arch)
    net.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in state_dict.items()})
    return net


def weights_checksum(state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of the tensors, in name order."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def write_model_file(
    path: PathLike, state_dict: dict[str, torch.Tensor], metadata: dict[str, Any], half: bool = True
) -> Path:
    """Write weights + metadata atomically (temp file in the same folder, then rename)."""
    missing = [k for k in REQUIRED_METADATA if k not in metadata]
    if missing:
        raise ModelFileError(f"model metadata lacks {', '.join(missing)}")
    metadata = _plain(metadata)
    validate_metadata(metadata, str(path))
    weights = {}
    for name, t in state_dict.items():
        t = t.detach().cpu()
        weights[name] = t.half() if half and t.is_floating_point() else t.clone()
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "metadata": metadata,
        "state_dict": weights,
        "checksum": weights_checksum(weights),
        "metadata_checksum": metadata_checksum(metadata),
    }
    path = Path(path)
    with atomic_path(path, fsync=True) as tmp:
        torch.save(payload, tmp)
    return path


def _plain(metadata: dict[str, Any]) -> dict[str, Any]:
    """Metadata as plain JSON types (str subclasses, tuples, numpy scalars would not load safely)."""
    import json

    try:
        plain: dict[str, Any] = json.loads(json.dumps(metadata, default=str, allow_nan=True))
        return plain
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"model metadata is not JSON-compatible: {e}") from None


def read_model_file(path: PathLike) -> dict[str, Any]:
    """Load and validate a model file; return its payload dict."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights_only" in str(e) or "Unsupported global" in str(e):
            raise ModelFileError(
                f"{name} contains pickled Python objects (code), which geocolor refuses to load; "
                "use a model written by geocolor"
            ) from None
        raise ModelFileError(f"{name} is corrupt or not a model file ({first_line(e)})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, KeyError, IndexError, TypeError) as e:
        raise ModelFileError(f"{name} is corrupt, truncated or not a model file ({first_line(e)})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelFileError(f"{name} is not a geocolor model file (no '{FORMAT}' header); was it written by another tool?")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{name} has model format version {payload.get('format_version')}, this geocolor reads {FORMAT_VERSION}"
        )
    meta, weights = payload.get("metadata"), payload.get("state_dict")
    if not isinstance(meta, dict) or not isinstance(weights, dict):
        raise ModelFileError(f"{name} lacks metadata or weights")
    missing = [k for k in REQUIRED_METADATA if k not in meta]
    if missing:
        raise ModelFileError(f"{name} metadata lacks {', '.join(missing)}")
    if payload.get("checksum") != weights_checksum(weights):
        raise ModelFileError(f"{name}: weights do not match their checksum; the file was modified or damaged")
    if "metadata_checksum" in payload and payload["metadata_checksum"] != metadata_checksum(meta):
        raise ModelFileError(f"{name}: metadata does not match its checksum; the file was modified or damaged")
    if not all(isinstance(t, torch.Tensor) for t in weights.values()):
        raise ModelFileError(f"{name}: weights must all be tensors")
    validate_metadata(meta, name)
    return payload
