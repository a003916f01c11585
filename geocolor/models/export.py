"""Writing geocolor ONNX files: a torch module traced to ONNX, its weights stored compactly, metadata attached.

``onnx_bytes`` exports a module whose inputs and outputs are those of a graph kind
(``geocolor.models.onnx_file.GRAPHS``), with the batch, height and width left dynamic. Weight tensors
that hold float16 values (a model file stores its weights in float16) are stored as float16 with a
``Cast`` to float32 in front (``store_half``): the file is half the size (the shipped model stays
under 50 MB), the graph still computes in float32 (onnxruntime folds the casts, and each BatchNorm
into its convolution, once, when the session opens), and the weights are exactly the ``.pt`` file's.
``colorize_graph`` is the colorization module: L* in, a*b* out, the model's normalisation inside, so
the ONNX engine needs none of ``geocolor.models.encoding`` (torch).

Exporting needs torch and the ``onnx`` package (``pip install 'geocolor[export]'``); running the
result needs only onnxruntime.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from geocolor.errors import EngineError, ModelFileError
from geocolor.models.encoding import ColorEncoding, encoding_from_metadata
from geocolor.models.metadata import metadata_checksum
from geocolor.models.onnx_file import FORMAT, FORMAT_VERSION, GRAPHS

OPSET = 17
HALF_MIN_ELEMENTS = 64  # smaller tensors (biases, scalars) stay float32: no size to gain


class ColorizeGraph(nn.Module):
    """L* tiles (N, 1, H, W) in [0, 100] -> a*b* (N, 2, H, W): encoding, generator, decoding in one graph."""

    def __init__(self, net: nn.Module, encoding: ColorEncoding) -> None:
        super().__init__()
        self.net = net
        self.encoding = encoding

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        return self.encoding.decode_chroma(self.net(self.encoding.encode_input(lightness)))


def colorize_graph(payload: dict[str, Any]) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """The colorization module of a model file's payload, and an example input for tracing."""
    from geocolor.models.io import build_checked

    meta = payload["metadata"]
    if meta.get("task", "colorize") != "colorize":
        raise ModelFileError(f"this is a model for {meta['task']}, not a colorization model")
    if (meta.get("style") or {}).get("conditioned") or meta["architecture"].get("style_dim"):
        raise ModelFileError("style-conditioned models cannot be exported to ONNX yet; use them with the torch engine")
    encoding = encoding_from_metadata(meta)
    net = build_checked(meta["architecture"], payload["state_dict"], "model file").eval()  # BatchNorm kept: onnxruntime fuses it
    tile = int(meta["tile_size"])
    example = torch.linspace(0.0, 100.0, 2 * tile * tile).reshape(2, 1, tile, tile)
    return ColorizeGraph(net, encoding).eval(), (example,)


def onnx_module() -> Any:
    """The ``onnx`` package, or a one-line ``EngineError`` saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise EngineError("geocolor export needs the onnx package: pip install 'geocolor[export]'") from None
    return onnx


def store_half(model: Any, min_elements: int = HALF_MIN_ELEMENTS) -> int:
    """Store each float32 initializer of ``min_elements`` or more whose values are all exactly float16
    values (weights read from a float16 ``.pt`` file) as float16 behind a ``Cast`` node: lossless.

    Returns how many were converted.
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(init)
        half = arr.astype(np.float16)
        if arr.size < min_elements or not np.array_equal(half.astype(np.float32), arr):
            continue  # small, or not exactly a float16 value (a float32 .pt file): stored as it is
        name = init.name
        init.CopyFrom(numpy_helper.from_array(half, name=f"{name}__fp16"))
        casts.append(helper.make_node("Cast", [f"{name}__fp16"], [name], to=TensorProto.FLOAT, name=f"{name}__cast"))
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    return len(casts)


def onnx_bytes(
    module: nn.Module,
    example: Sequence[torch.Tensor],
    graph_kind: str,
    metadata: dict[str, Any],
    weights_checksum: str,
) -> bytes:
    """``module`` exported as a ``graph_kind`` graph with ``metadata`` attached: the bytes of the ONNX file."""
    import warnings

    onnx = onnx_module()
    _, inputs, outputs = GRAPHS[graph_kind]
    dynamic = {name: {0: "batch", 2: "height", 3: "width"} for name in (*inputs, *outputs)}
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the tracer's notes on Python-level constants are about training code paths
        torch.onnx.export(module, tuple(example), buffer,  # type: ignore[arg-type]  # file objects are documented; the hint names paths
                          input_names=list(inputs), output_names=list(outputs), dynamic_axes=dynamic, opset_version=OPSET,
                          do_constant_folding=True, dynamo=False,
                          training=torch.onnx.TrainingMode.PRESERVE)  # eval modules, but no Conv+BN folding in float32
    model = onnx.load_from_string(buffer.getvalue())
    store_half(model)
    props = {
        "geocolor.format": FORMAT,
        "geocolor.format_version": FORMAT_VERSION,
        "geocolor.graph": graph_kind,
        "geocolor.metadata": json.dumps(metadata, sort_keys=True, allow_nan=True),
        "geocolor.metadata_checksum": metadata_checksum(metadata),
        "geocolor.weights_checksum": weights_checksum,
    }
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.producer_name = "geocolor"
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data
