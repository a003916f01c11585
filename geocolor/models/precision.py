"""The torch engine's inference precision: ``fp32``, or ``bf16`` / ``fp16`` autocast, chosen or checked.

``auto`` tries the reduced precisions the device runs natively (CPU: ``bf16`` where the CPU has bf16
instructions, AVX512-BF16 or AMX; CUDA: ``fp16``, then ``bf16``), and keeps the first whose colours
stay within ``MAX_DELTA_E`` (mean CIEDE2000) of ``fp32`` on a calibration tile of real imagery (the
bundled panchromatic sample, ``geocolor/data``): one extra forward per candidate, once per load. A
model whose colours drift in reduced precision keeps ``fp32``; a CPU without bf16 units (where bf16
is emulated, slower than fp32) does not try it.

An explicit choice is checked: ``fp16`` needs CUDA, ``bf16`` on CUDA needs a GPU that supports it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from geocolor.errors import InputError
from geocolor.models.engines import PRECISIONS
from geocolor.models.translator import Translator

log = logging.getLogger(__name__)

MAX_DELTA_E = 0.5  # mean CIEDE2000 against fp32 a reduced precision may cost
SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample_gray_uint16.tif"


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` runs bf16 natively (CPU: AVX512-BF16 or AMX; CUDA: compute capability 8+)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return _cpu_flags_have_bf16()


def _cpu_flags_have_bf16() -> bool:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return " avx512_bf16" in text or " amx_bf16" in text


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse (one-line ``InputError``) a precision that ``device`` cannot run."""
    if precision not in PRECISIONS:
        raise InputError(f"--precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if precision == "fp16" and device.type != "cuda":
        raise InputError("--precision fp16 needs a CUDA GPU; on CPU use bf16 or fp32")
    if precision == "bf16" and device.type == "cuda" and not native_bf16(device):
        raise InputError("--precision bf16: this GPU has no bf16 support; use fp16 or fp32")


def candidates(device: torch.device) -> list[str]:
    """The reduced precisions ``auto`` tries on ``device``, fastest-first."""
    if device.type == "cuda":
        return ["fp16", "bf16"] if native_bf16(device) else ["fp16"]
    return ["bf16"] if native_bf16(device) else []


def calibration_tile(tile: int, path: Path = SAMPLE) -> np.ndarray:
    """L* (1, 1, tile, tile) of the middle of the bundled real sample, mirrored when the tile is larger."""
    from rasterio.windows import Window

    from geocolor.raster import open_raster, plan_input, to_lightness

    with open_raster(path) as ds:
        plan = plan_input(ds)
        side = min(tile, ds.width, ds.height)
        top, left = (ds.height - side) // 2, (ds.width - side) // 2
        lum = to_lightness(ds.read(list(plan.bands), window=Window(left, top, side, side)), plan)
    if side < tile:
        lum = np.pad(lum, ((0, tile - side), (0, tile - side)), mode="symmetric")
    return np.ascontiguousarray(lum[None, None], dtype=np.float32)


def mean_delta_e(lightness: np.ndarray, ab_ref: np.ndarray, ab: np.ndarray) -> float:
    """Mean CIEDE2000 between Lab(L*, ``ab_ref``) and Lab(L*, ``ab``); inf when ``ab`` is not finite.

    ``lightness`` is (N, 1, H, W), the a*b* (N, 2, H, W).
    """
    from skimage.color import deltaE_ciede2000

    if not np.isfinite(ab).all():
        return float("inf")
    ref = np.concatenate([lightness, ab_ref], axis=1).transpose(0, 2, 3, 1).astype(np.float64)
    got = np.concatenate([lightness, ab], axis=1).transpose(0, 2, 3, 1).astype(np.float64)
    return float(np.mean(deltaE_ciede2000(ref, got)))  # type: ignore[no-untyped-call]  # scikit-image has no hints


def choose_precision(translator: Translator, requested: str = "auto", tile: np.ndarray | None = None) -> str:
    """Set ``translator.precision`` to ``requested``, or for ``auto`` to the first candidate within
    ``MAX_DELTA_E`` of fp32 on the calibration tile (``tile``: L* (N, 1, H, W); default the bundled sample).
    Returns the precision set."""
    check_precision(requested, translator.device)
    if requested != "auto":
        translator.precision = requested
        return requested
    options = candidates(translator.device)
    translator.precision = "fp32"
    if not options:
        return "fp32"
    lum = tile if tile is not None else calibration_tile(translator.tile_size)
    reference = translator.predict_array(lum)
    for precision in options:
        translator.precision = precision
        delta = mean_delta_e(lum, reference, translator.predict_array(lum))
        if delta <= MAX_DELTA_E:
            log.info("precision auto: %s (mean CIEDE2000 %.3f from fp32 on the calibration tile)", precision, delta)
            return precision
        log.info("precision auto: %s drifts %.3f CIEDE2000 from fp32 (over %.2f); not used", precision, delta, MAX_DELTA_E)
    translator.precision = "fp32"
    return "fp32"
