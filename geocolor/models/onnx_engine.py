"""The onnxruntime engine: an exported geocolor ONNX model run without torch.

``load_onnx(path)`` reads and checks the file's header (``geocolor.models.onnx_file``: size cap,
format, metadata schema and checksum), opens an onnxruntime session from the bytes already read
(so a graph can never pull in external data files), then checks that the graph's inputs and outputs
are exactly the names, element types, ranks and channel counts its graph kind promises before
anything runs. ``OnnxColorizer`` is a ``TilePredictor`` (``geocolor.models.colorizer``) over a
colorization graph; the inpainting graph has its own wrapper in ``geocolor.inpaint.onnx``.

Only numpy and onnxruntime are imported here: ``pip install geocolor[onnx]`` mosaics without torch.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from geocolor.errors import EngineError, InputError, ModelFileError
from geocolor.models.colorizer import TilePredictor
from geocolor.models.metadata import MetadataView, first_line
from geocolor.models.onnx_file import OnnxHeader, read_onnx_header
from geocolor.types import PathLike

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")


@dataclass
class OnnxGraph:
    """An onnxruntime session over a checked geocolor graph; ``run`` feeds float32 arrays by name."""

    header: OnnxHeader
    session: Any  # onnxruntime.InferenceSession (onnxruntime ships no type hints)
    device: str

    def run(self, **inputs: np.ndarray) -> np.ndarray:
        """The graph's one output for ``inputs`` (float32, rank 4, batch first)."""
        feed = {name: np.ascontiguousarray(inputs[name], dtype=np.float32) for name in self.header.input_names}
        out = self.session.run(list(self.header.output_names), feed)[0]
        return np.asarray(out, dtype=np.float32)


def onnxruntime_module() -> Any:
    """``onnxruntime``, or a one-line ``EngineError`` saying how to install it."""
    try:
        import onnxruntime
    except ImportError:
        raise EngineError("the onnx engine needs onnxruntime: pip install 'geocolor[onnx]'") from None
    return onnxruntime


def providers(ort: Any, device: str) -> tuple[list[str], str]:
    """onnxruntime execution providers for ``device`` (auto: CUDA when onnxruntime has it), and the device used."""
    if device not in DEVICES:
        raise InputError(f"--device {device!r} is not one of {', '.join(DEVICES)}")
    has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    if device == "cuda" and not has_cuda:
        raise EngineError("--device cuda was asked for, but this onnxruntime has no CUDA provider (pip install onnxruntime-gpu)")
    if device != "cpu" and has_cuda:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"], "cuda"
    return ["CPUExecutionProvider"], "cpu"


def open_graph(header: OnnxHeader, device: str = "auto", threads: int | None = None) -> OnnxGraph:
    """An onnxruntime session over ``header``'s bytes, its inputs and outputs checked (see module docstring)."""
    ort = onnxruntime_module()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    if threads:
        options.intra_op_num_threads = int(threads)
    options.log_severity_level = 3  # errors only: the engine says what matters in one line
    names, used = providers(ort, device)
    try:
        session = ort.InferenceSession(header.data, sess_options=options, providers=names)
    except Exception as e:  # onnxruntime raises its own exception types for every kind of bad graph
        raise ModelFileError(f"{header.path.name}: onnxruntime cannot load its graph ({first_line(e, 120)})") from None
    check_io(session, header)
    return OnnxGraph(header, session, used)


def _channels(header: OnnxHeader) -> dict[str, int]:
    """The channel count each input and output of ``header``'s graph must have."""
    if header.task == "inpaint":
        c = int(header.metadata.get("channels", 1))
        return {"image": c, "hole": 1, "filled": c}
    return {"lightness": 1, "chroma": 2}


def check_io(session: Any, header: OnnxHeader) -> None:
    """Refuse a graph whose inputs / outputs are not the names, types, ranks and channels its kind promises."""
    name = header.path.name
    want = _channels(header)
    for kind, args, expected in (("inputs", session.get_inputs(), header.input_names),
                                 ("outputs", session.get_outputs(), header.output_names)):
        got = tuple(a.name for a in args)
        if got != expected:
            raise ModelFileError(f"{name}: graph {kind} are {list(got)[:4]}, a {header.graph} graph has {list(expected)}")
        for arg in args:
            shape = list(arg.shape)
            if arg.type != "tensor(float)" or len(shape) != 4:
                raise ModelFileError(f"{name}: {arg.name} is {arg.type} of rank {len(shape)}, expected tensor(float) of rank 4")
            channels = shape[1]
            if isinstance(channels, int) and channels != want[arg.name]:
                raise ModelFileError(f"{name}: {arg.name} has {channels} channels, expected {want[arg.name]}")
            if any(isinstance(d, int) and d <= 0 for d in shape):
                raise ModelFileError(f"{name}: {arg.name} has an impossible shape {shape}")


def load_onnx(path: PathLike, device: str = "auto", threads: int | None = None, task: str = "colorize") -> OnnxGraph:
    """Read, check and open an exported geocolor ONNX model for ``task`` (``colorize`` or ``inpaint``)."""
    header = read_onnx_header(path)
    if header.task != task:
        raise ModelFileError(f"{header.path.name} is a {header.task} model, not a {task} model")
    return open_graph(header, device, threads)


@dataclass
class OnnxModel(MetadataView):
    """An opened graph and the model file metadata it carries; the base of the onnx colorizer and inpainter."""

    graph: OnnxGraph
    metadata: Mapping[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.metadata = self.graph.header.metadata

    @property
    def engine(self) -> str:
        return "onnx"

    @property
    def device(self) -> str:
        return self.graph.device


@dataclass
class OnnxColorizer(OnnxModel, TilePredictor):
    """A colorization graph as a ``TilePredictor``: L* tiles in, a*b* tiles out, numpy only."""

    def predict_array(self, lightness: np.ndarray) -> np.ndarray:
        """L* (N, 1, H, W) -> a*b* (N, 2, H, W), float32; a graph answering another shape is a ``ModelFileError``."""
        if lightness.ndim != 4 or lightness.shape[1] != 1:
            raise ValueError(f"expected L* tiles (N, 1, H, W), got shape {lightness.shape}")
        ab = self.graph.run(lightness=lightness)
        n, _, h, w = lightness.shape
        if ab.shape != (n, 2, h, w):
            raise ModelFileError(f"{self.graph.header.path.name} answered shape {list(ab.shape)} for {n} tiles of {h} x {w}")
        return ab


def load_onnx_colorizer(path: PathLike, device: str = "auto", threads: int | None = None) -> OnnxColorizer:
    """An exported colorization model, ready for ``geocolor.mosaic.colorize``."""
    return OnnxColorizer(load_onnx(path, device, threads, task="colorize"))
