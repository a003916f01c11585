"""The geocolor ONNX file: an exported model graph plus the metadata of the model file it came from.

``geocolor export --model M.pt --onnx M.onnx`` (``geocolor.models.export``) writes a graph whose inputs
and outputs are fixed by its ``geocolor.graph`` property (``GRAPHS``): a colorization graph maps L*
tiles to a*b* tiles with the model's normalisation baked in, an inpainting graph maps images in
[0, 1] and hole masks to filled images. Its ``metadata_props`` carry, as strings::

    geocolor.format            "geocolor-onnx"
    geocolor.format_version    "1"
    geocolor.graph             "colorize-lab-v1" | "inpaint-v1"
    geocolor.metadata          the .pt file's metadata, as JSON
    geocolor.metadata_checksum SHA-256 of that metadata (as in the .pt file)
    geocolor.weights_checksum  the .pt file's weights checksum: which weights were exported

Every byte of an ONNX file is treated as hostile. ``read_onnx_header`` refuses files over
``MAX_ONNX_BYTES`` and reads the metadata straight from the protobuf's top-level fields (a few
hundred bytes of parsing; the graph is skipped, not decoded), so a foreign or edited file is refused
with one ``ModelFileError`` line before onnxruntime ever parses its graph. Neither torch nor the
``onnx`` package is needed here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geocolor.errors import ModelFileError
from geocolor.models.metadata import first_line, metadata_checksum, validate_metadata
from geocolor.types import PathLike

FORMAT = "geocolor-onnx"
FORMAT_VERSION = "1"
MAX_ONNX_BYTES = 512 * 1024 * 1024  # a shipped model is ~30 MB; anything near this is not a geocolor model
MAX_METADATA_BYTES = 1024 * 1024
GRAPHS = {  # graph kind -> (task, input names, output names)
    "colorize-lab-v1": ("colorize", ("lightness",), ("chroma",)),
    "inpaint-v1": ("inpaint", ("image", "hole"), ("filled",)),
}
KEYS = ("format", "format_version", "graph", "metadata", "metadata_checksum", "weights_checksum")
_METADATA_FIELD = 14  # ModelProto.metadata_props (repeated StringStringEntryProto {1: key, 2: value})


@dataclass(frozen=True)
class OnnxHeader:
    """What an ONNX file says about itself, checked: its bytes, graph kind, model metadata and weights checksum."""

    path: Path
    data: bytes
    graph: str
    metadata: dict[str, Any]
    weights_checksum: str

    @property
    def task(self) -> str:
        return GRAPHS[self.graph][0]

    @property
    def input_names(self) -> tuple[str, ...]:
        return GRAPHS[self.graph][1]

    @property
    def output_names(self) -> tuple[str, ...]:
        return GRAPHS[self.graph][2]


def read_onnx_header(path: PathLike, max_bytes: int = MAX_ONNX_BYTES) -> OnnxHeader:
    """Read and check an exported geocolor ONNX file's size and metadata (see module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"ONNX model {path} does not exist")
    size = path.stat().st_size
    if size > max_bytes:
        raise ModelFileError(f"{path.name} is {size / 2**20:.0f} MB, over the {max_bytes / 2**20:.0f} MB limit for a geocolor ONNX model")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelFileError(f"cannot read {path.name}: {e.strerror or e}") from None
    return parse_onnx(data, path)


def parse_onnx(data: bytes, path: Path) -> OnnxHeader:
    """The checked header of an ONNX file's bytes (``path`` names it in messages)."""
    name = path.name
    props = metadata_props(data, name)
    if props.get("geocolor.format") != FORMAT:
        raise ModelFileError(f"{name} is not a geocolor ONNX model (no '{FORMAT}' metadata); export one with geocolor export")
    if props.get("geocolor.format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{name} has geocolor ONNX format version {props.get('geocolor.format_version')!r}, "
                             f"this geocolor reads {FORMAT_VERSION}")
    missing = [k for k in KEYS if f"geocolor.{k}" not in props]
    if missing:
        raise ModelFileError(f"{name} lacks the geocolor.{missing[0]} metadata entry")
    graph = props["geocolor.graph"]
    if graph not in GRAPHS:
        raise ModelFileError(f"{name} has an unknown graph kind {graph[:40]!r}; this geocolor knows {', '.join(GRAPHS)}")
    try:
        meta = json.loads(props["geocolor.metadata"])
    except ValueError as e:
        raise ModelFileError(f"{name}: its model metadata is not JSON ({first_line(e, 80)})") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{name}: its model metadata must be a JSON object")
    if props["geocolor.metadata_checksum"] != metadata_checksum(meta):
        raise ModelFileError(f"{name}: metadata does not match its checksum; the file was modified or damaged")
    validate_metadata(meta, name)
    task = meta.get("task", "colorize")
    if task != GRAPHS[graph][0]:
        raise ModelFileError(f"{name}: graph {graph} does not fit a {task!r} model")
    return OnnxHeader(path, data, graph, meta, props["geocolor.weights_checksum"])


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """A protobuf varint at ``pos``: (value, next position)."""
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated or overlong varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def protobuf_fields(data: bytes) -> list[tuple[int, int, bytes | int]]:
    """The top-level fields of a protobuf message: (field number, wire type, bytes or integer value).

    Length-delimited values (wire type 2) are sliced, not decoded, so a graph of any size costs nothing.
    ``ValueError`` for anything that is not well-formed protobuf.
    """
    fields: list[tuple[int, int, bytes | int]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0")
        if wire == 0:
            value, pos = _varint(data, pos)
            fields.append((number, wire, value))
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > len(data):
                raise ValueError("truncated fixed-width field")
            fields.append((number, wire, int.from_bytes(data[pos : pos + width], "little")))
            pos += width
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ValueError("a field runs past the end of the file")
            fields.append((number, wire, data[pos : pos + length]))
            pos += length
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return fields


def metadata_props(data: bytes, name: str = "ONNX file") -> dict[str, str]:
    """An ONNX ModelProto's ``metadata_props`` as a dict; ``ModelFileError`` when ``data`` is not protobuf."""
    props: dict[str, str] = {}
    total = 0
    try:
        for number, wire, value in protobuf_fields(data):
            if number != _METADATA_FIELD or wire != 2 or not isinstance(value, bytes):
                continue
            total += len(value)
            if total > MAX_METADATA_BYTES:
                raise ModelFileError(f"{name}: its metadata is over {MAX_METADATA_BYTES // 1024} kB; not a geocolor model")
            entry = {n: v for n, w, v in protobuf_fields(value) if w == 2 and isinstance(v, bytes)}
            props[entry.get(1, b"").decode("utf-8")] = entry.get(2, b"").decode("utf-8")
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{name} is corrupt, truncated or not an ONNX file ({first_line(e, 80)})") from None
    return props
