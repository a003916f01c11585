"""``export_onnx``: a geocolor model file (``.pt``) as an ONNX file that onnxruntime runs without torch.

Colorization models become a ``colorize-lab-v1`` graph (L* in, a*b* out), inpainting models an
``inpaint-v1`` graph (image and hole in, filled image out); the model file's metadata and checksums
travel in the ONNX file (``geocolor.models.onnx_file``). Before the file is written, the exported
graph is run by onnxruntime on a tile of real imagery (the bundled sample) and compared with the
torch model in fp32: a graph that answers differently is never written. The file appears whole or
not at all (``geocolor.files``), and an existing one is replaced only with ``overwrite``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geocolor.errors import InputError, ModelFileError, OutputExistsError
from geocolor.types import PathLike

log = logging.getLogger(__name__)

TOLERANCE = {"colorize-lab-v1": 0.5, "inpaint-v1": 0.5 / 255}  # largest difference from torch fp32 (a*b* units; [0, 1] units)


@dataclass
class ExportResult:
    path: Path
    graph: str
    size_bytes: int
    max_difference: float | None  # onnxruntime vs torch fp32 on the check tile; None when onnxruntime is not installed
    seconds: float


def export_onnx(model: PathLike | None, onnx: PathLike, *, overwrite: bool = False, verify: bool = True) -> ExportResult:
    """Export ``model`` (None: the shipped default) to ``onnx`` (see module docstring)."""
    import torch

    from geocolor.models import DEFAULT_MODEL
    from geocolor.models.engines import installed
    from geocolor.models.export import onnx_bytes
    from geocolor.models.io import read_model_file

    started = time.perf_counter()
    src, dst = Path(model) if model is not None else DEFAULT_MODEL, Path(onnx)
    _check_output(src, dst, overwrite)
    payload = read_model_file(src)
    graph, module, example = _graph(payload, src.name)
    data = onnx_bytes(module, example, graph, payload["metadata"], payload["checksum"])
    difference = None
    if verify and installed("onnxruntime"):
        with torch.no_grad():
            difference = _difference(data, dst, graph, module, _check_inputs(graph, payload["metadata"], example))
        if difference > TOLERANCE[graph]:
            raise ModelFileError(f"the exported graph of {src.name} answers up to {difference:.3g} away from the torch model "
                                 f"(limit {TOLERANCE[graph]:.3g}); not written")
    from geocolor.files import write_bytes_atomic

    write_bytes_atomic(dst, data, fsync=True)
    seconds = time.perf_counter() - started
    log.info("exported %s to %s (%s, %.1f MB) in %.1f s", src.name, dst, graph, len(data) / 1e6, seconds)
    return ExportResult(dst, graph, len(data), difference, seconds)


def _check_output(src: Path, dst: Path, overwrite: bool) -> None:
    if dst.suffix.lower() != ".onnx":
        raise InputError(f"--onnx {dst.name}: the output file must end in .onnx")
    if dst.exists() and not overwrite:
        raise OutputExistsError(f"{dst} exists; pass --overwrite to replace it")
    if dst.exists() and dst.resolve() == src.resolve():
        raise OutputExistsError(f"output {dst} is the model file; choose another output path")
    if dst.is_dir():
        raise OutputExistsError(f"{dst} is a folder; give an output file name")


def _graph(payload: dict[str, Any], name: str) -> tuple[str, Any, tuple[Any, ...]]:
    """(graph kind, module, example inputs) for the payload's task."""
    task = payload["metadata"].get("task", "colorize")
    if task == "colorize":
        from geocolor.models.export import colorize_graph

        module, example = colorize_graph(payload)
        return "colorize-lab-v1", module, example
    if task == "inpaint":
        from geocolor.inpaint.model import fill_graph

        module, example = fill_graph(payload, name)
        return "inpaint-v1", module, example
    raise ModelFileError(f"{name} is a {task!r} model; geocolor exports colorize and inpaint models")


def _check_inputs(graph: str, meta: dict[str, Any], example: tuple[Any, ...]) -> tuple[np.ndarray, ...]:
    """Real-imagery inputs for the export check: the bundled sample's L* (colorize), or its gray with a hole (inpaint)."""
    from geocolor.models.precision import calibration_tile

    lum = calibration_tile(int(meta["tile_size"]))
    if graph == "colorize-lab-v1":
        return (lum,)
    image = np.repeat(lum / 100.0, int(meta["channels"]), axis=1).astype(np.float32)
    return image, example[1][:1].numpy()


def _difference(data: bytes, dst: Path, graph: str, module: Any, inputs: tuple[np.ndarray, ...]) -> float:
    """Largest absolute difference between onnxruntime on ``data`` and ``module`` in torch, on ``inputs``."""
    import torch

    from geocolor.models.onnx_engine import open_graph
    from geocolor.models.onnx_file import GRAPHS, parse_onnx

    session = open_graph(parse_onnx(data, dst), device="cpu")
    names = GRAPHS[graph][1]
    got = session.run(**dict(zip(names, inputs)))
    want = module(*(torch.from_numpy(x) for x in inputs)).float().numpy()
    return float(np.abs(got - want).max())
