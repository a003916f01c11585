"""Choosing the inference engine (torch or onnxruntime), its precision and its threads.

``load_colorizer(model, engine=..., precision=..., threads=...)`` is what ``geocolor mosaic`` loads a
model with. Engines:

- ``torch``: the ``.pt`` model file (``geocolor.models.translator``), in the precision
  ``geocolor.models.precision`` chooses (``auto``) or checks;
- ``onnx``: the exported ``.onnx`` file (``geocolor.models.onnx_engine``): the model's own path when
  it ends in ``.onnx``, else the ``.onnx`` beside the ``.pt`` (the shipped models have one);
- ``auto``: ``onnx`` for an ``.onnx`` path, else torch when it is installed, else onnx.

Whether torch is installed is asked of the import system without importing it, so the onnx path
never loads torch. Neither engine installed is one line saying what to install.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

from geocolor.errors import EngineError, InputError, ModelFileError
from geocolor.models.colorizer import TilePredictor
from geocolor.types import PathLike

log = logging.getLogger(__name__)

ENGINES = ("auto", "torch", "onnx")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # the torch engine's (geocolor.models.precision)
ONNX_SUFFIX = ".onnx"


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def is_onnx(model: PathLike | None) -> bool:
    return model is not None and Path(model).suffix.lower() == ONNX_SUFFIX


def resolve_engine(engine: str, model: PathLike | None = None) -> str:
    """``torch`` or ``onnx`` for ``engine`` and the model path (see module docstring); ``EngineError`` when it cannot run."""
    if engine not in ENGINES:
        raise InputError(f"--engine {engine!r} is not one of {', '.join(ENGINES)}")
    has_torch, has_ort = installed("torch"), installed("onnxruntime")
    if engine == "auto":
        if not has_torch and not has_ort:
            raise EngineError("no inference engine is installed: pip install 'geocolor[onnx]' (onnxruntime) or 'geocolor[torch]'")
        engine = "onnx" if is_onnx(model) or not has_torch else "torch"
    if engine == "torch":
        if is_onnx(model):
            raise EngineError(f"{Path(str(model)).name} is an ONNX file; run it with --engine onnx (or auto), or pass the .pt model")
        if not has_torch:
            raise EngineError("--engine torch needs PyTorch: pip install 'geocolor[torch]' (or use --engine onnx)")
    elif not has_ort:
        raise EngineError("the onnx engine needs onnxruntime: pip install 'geocolor[onnx]'")
    return engine


def onnx_path_for(model: PathLike) -> Path:
    """The ONNX file to run for ``model``: itself when it is one, else the ``.onnx`` beside the ``.pt``."""
    path = Path(model)
    if is_onnx(path):
        return path
    onnx = path.with_suffix(ONNX_SUFFIX)
    if not onnx.is_file():
        raise ModelFileError(f"{path.name} has no exported {onnx.name} beside it; run geocolor export --model {path} --onnx {onnx} "
                             "(or use --engine torch)")
    return onnx


def physical_cores() -> int:
    """Physical CPU cores this process may use (hyper-threads not counted): the default thread count."""
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cores: set[tuple[str, str]] = set()
    base = Path("/sys/devices/system/cpu")
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    for cpu in cpus:
        topo = base / f"cpu{cpu}" / "topology"
        try:
            cores.add(((topo / "physical_package_id").read_text().strip(), (topo / "core_id").read_text().strip()))
        except OSError:
            return max(1, allowed)
    return max(1, min(len(cores) or allowed, allowed))


def check_threads(threads: int | None) -> int:
    """``threads``, or the physical core count for None; ``InputError`` below 1."""
    if threads is None:
        return physical_cores()
    if threads < 1:
        raise InputError(f"--threads {threads} must be at least 1")
    return int(threads)


def set_torch_threads(threads: int | None) -> None:
    """Use ``threads`` intra-op threads in torch (process-wide) when asked for and different from now.

    None leaves torch as it is (its default is the physical cores): a library caller's own setting,
    e.g. a training run in the same process, is never changed behind its back.
    """
    import torch

    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def load_colorizer(model: PathLike | None = None, device: str = "auto", engine: str = "auto", precision: str = "auto",
                   threads: int | None = None, style: object = None) -> TilePredictor:
    """A ready colorizer for ``model`` (None: the shipped model; ``style``: see ``default_model_for``) on the chosen engine."""
    from geocolor.models import default_model_for

    path = Path(model) if model is not None else default_model_for(style)
    chosen = resolve_engine(engine, path)
    n = check_threads(threads)
    if chosen == "onnx":
        if precision not in ("auto", "fp32"):
            raise InputError(f"--precision {precision} is for the torch engine; the onnx engine runs fp32")
        from geocolor.models.onnx_engine import load_onnx_colorizer

        colorizer = load_onnx_colorizer(onnx_path_for(path), device, n)
        log.info("engine onnx (%s, %d threads): %s", colorizer.device, n, onnx_path_for(path).name)
        return colorizer
    from geocolor.models import load
    from geocolor.models.precision import choose_precision

    set_torch_threads(threads if threads is None else n)
    translator = load(path, device=device)
    used = choose_precision(translator, precision)
    log.info("engine torch (%s, %s, %d threads): %s", translator.device, used, n, path.name)
    return translator
