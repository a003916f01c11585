"""``--style``: give every tile (and every sheet) one palette.

A style is a reference raster's path, the name of a style stored in a stylecolor model file, or
``auto`` (several inputs: the pooled palette of all their predictions). It becomes a ``StyleTarget``
(a style code and a*b* moments), and the translator becomes a ``StyledTranslator``:

- a style-conditioned model (stylecolor) gets the target's code on every tile, so the network itself
  colours in that style;
- then, for every model, the predictions' palette is measured once per input on a fixed sample of
  tiles (``prediction_sample``, bounded cost) and one affine a*b* map (``palette.matching_transform``)
  moves it onto the target's. The same map applies to every tile, so tiles stay seamless; L* is
  never changed.

Both are computed before the first tile is written, so a style costs a few extra tile predictions per
input, not a second pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geocolor.errors import InputError
from geocolor.style.palette import Moments, matching_transform
from geocolor.style.reference import ColorSample, pool_samples, read_reference, subsample

log = logging.getLogger(__name__)

AUTO = "auto"
SAMPLE_TILES = 12  # tiles predicted per input to measure its palette


@dataclass(frozen=True)
class StyleTarget:
    """The palette every output should get: a style code and the a*b* moments it stands for."""

    code: list[float]
    moments: Moments
    source: str
    bounds: tuple[float, float, float, float] | None = None  # where an input's own palette is measured (its CRS); None: everywhere


def target_from_sample(sample: ColorSample) -> StyleTarget:
    return StyleTarget(sample.code(), sample.moments(), sample.source)


def resolve_style(style: str, translator: Any) -> StyleTarget:
    """A reference raster path or a style name stored in the model file -> ``StyleTarget``."""
    if style == AUTO:
        raise InputError("--style auto pools several inputs: give two or more inputs and --out-dir")
    if Path(style).exists():
        return target_from_sample(read_reference(style))
    named = (translator.metadata.get("style") or {}).get("named") or {}
    if style in named:
        return target_from_code(named[style], f"named style {style}")
    known = f"this model's named styles: {', '.join(sorted(named))}" if named else "this model has no named styles"
    raise InputError(f"--style {style!r} is neither an existing reference raster nor a named style ({known})")


def target_from_code(code: list[float], source: str) -> StyleTarget:
    import torch

    from geocolor.models.style import code_moments

    mean, cov = code_moments(torch.tensor(code, dtype=torch.float64))
    return StyleTarget(list(code), Moments(mean.numpy(), cov.numpy(), 0), source)


@dataclass
class StyledTranslator:
    """A translator whose predictions are conditioned on ``code`` and/or moved by ``transform``."""

    base: Any
    code: list[float] | None = None
    transform: tuple[np.ndarray, np.ndarray] | None = None
    description: str = ""

    def __getattr__(self, name: str) -> Any:  # metadata, tile_size, tile_multiple, device, ...
        if name == "base":
            raise AttributeError(name)
        return getattr(self.base, name)

    def predict_chroma(self, lightness: Any) -> Any:
        import torch

        ab = self.base.predict_chroma(lightness) if self.code is None else self.base.predict_chroma(lightness, style=self.code)
        if self.transform is None:
            return ab
        a, b = (torch.as_tensor(v, dtype=ab.dtype, device=ab.device) for v in self.transform)
        return torch.einsum("ij,njhw->nihw", a, ab) + b[None, :, None, None]


def _region(ds: Any, bounds: tuple[float, float, float, float] | None) -> tuple[int, int, int, int]:
    """Pixel box (col0, row0, col1, row1) of ``bounds`` in ``ds`` (the whole raster for None)."""
    if bounds is None:
        return 0, 0, ds.width, ds.height
    win = ds.window(*bounds)
    c0, r0 = max(0, int(np.floor(win.col_off))), max(0, int(np.floor(win.row_off)))
    c1, r1 = min(ds.width, int(np.ceil(win.col_off + win.width))), min(ds.height, int(np.ceil(win.row_off + win.height)))
    return (c0, r0, c1, r1) if c1 > c0 and r1 > r0 else (0, 0, ds.width, ds.height)


def _starts(lo: int, hi: int, size: int, tile: int, n: int) -> np.ndarray:
    """Up to ``n`` tile origins covering [lo, hi), kept inside [0, size - tile] where possible."""
    first, last = min(lo, max(0, size - tile)), min(max(lo, hi - tile), max(0, size - tile))
    return np.unique(np.linspace(first, last, n).round().astype(int))


def prediction_sample(
    translator: Any, ds: Any, plan: Any, tile: int, max_tiles: int = SAMPLE_TILES,
    bounds: tuple[float, float, float, float] | None = None,
) -> ColorSample:
    """Predicted Lab pixels of up to ``max_tiles`` tiles spread evenly over ``ds`` (valid pixels only).

    With ``bounds`` (in the raster's CRS) only pixels inside them count; tiles still see their full context.
    """
    import torch
    from rasterio.windows import Window

    from geocolor.mosaic.reader import to_lightness

    c0, r0, c1, r1 = _region(ds, bounds)
    per_axis = max(1, int(np.ceil(np.sqrt(max_tiles))))
    parts = []
    for y in _starts(r0, r1, ds.height, tile, per_axis):
        for x in _starts(c0, c1, ds.width, tile, per_axis):
            win = Window(int(x), int(y), min(tile, ds.width - int(x)), min(tile, ds.height - int(y)))
            lum = to_lightness(ds.read(list(plan.bands), window=win), plan)
            valid = ds.dataset_mask(window=win) > 0
            rows, cols = np.ogrid[y : y + lum.shape[0], x : x + lum.shape[1]]
            valid &= (rows >= r0) & (rows < r1) & (cols >= c0) & (cols < c1)
            pad = ((0, tile - lum.shape[0]), (0, tile - lum.shape[1]))
            ab = translator.predict_chroma(torch.from_numpy(np.pad(lum, pad, mode="symmetric"))[None, None]).cpu().numpy()[0]
            ab = ab[:, : lum.shape[0], : lum.shape[1]]
            px = np.stack([lum[valid], ab[0][valid], ab[1][valid]], axis=1)
            parts.append(subsample(px[np.isfinite(px).all(axis=1)], 1 << 14, seed=len(parts)))
    lab = np.concatenate(parts) if parts else np.empty((0, 3), np.float32)
    if not len(lab):
        raise InputError(f"{ds.name} holds no valid pixels to measure its palette on")
    return ColorSample(lab.astype(np.float32), str(ds.name))


def styled_translator(translator: Any, target: StyleTarget, ds: Any, plan: Any, tile: int) -> StyledTranslator:
    """Condition (stylecolor models) and palette-match ``translator`` for input ``ds`` (see module docstring)."""
    conditioned = bool(getattr(translator, "style_conditioned", False))
    styled = StyledTranslator(translator, code=target.code if conditioned else None)
    own = prediction_sample(styled, ds, plan, tile, bounds=target.bounds).moments()
    styled.transform = matching_transform(own, target.moments)
    how = "style code + palette matching" if conditioned else "palette matching"
    where = " (measured where it overlaps the other inputs)" if target.bounds else ""
    styled.description = f"{how} to {Path(target.source).name}{where}"
    log.info("%s: %s (prediction a*b* mean %s -> %s)", Path(ds.name).name, styled.description,
             np.round(own.mean, 1).tolist(), np.round(target.moments.mean, 1).tolist())
    return styled


def auto_target(translator: Any, inputs: list[Any], tile: int, bounds: list[Any] | None = None) -> StyleTarget:
    """The pooled palette of the (unstyled) predictions of all ``inputs``, given as ``(ds, plan)`` pairs,
    each measured inside its ``bounds`` (None: everywhere)."""
    bounds = bounds or [None] * len(inputs)
    samples = [prediction_sample(translator, ds, plan, tile, bounds=b) for (ds, plan), b in zip(inputs, bounds)]
    return target_from_sample(pool_samples(samples, source=f"auto ({len(samples)} inputs)"))
