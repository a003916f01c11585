"""``--style``: give every tile (and every sheet) one palette.

A style is a reference raster's path, the name of a style stored in a stylecolor model file, or
``auto`` (several inputs: the pooled palette of all their predictions). It becomes a ``StyleTarget``
(a style code and a*b* moments), and the translator becomes a ``StyledTranslator``:

- a style-conditioned model (stylecolor) gets the target's code on every tile, so the network itself
  colours in that style;
- tone matching (``geocolor.style.tone``): when the target carries a tonal range (a reference
  raster's or the pooled inputs' L* quantiles), every input's L* is moved onto it *before* the
  network sees it, so a darker or flatter print is coloured like its neighbour; the output keeps
  the input's own L*;
- then, for every model, the predictions' palette is measured once per input on a fixed sample of
  tiles (``prediction_sample``, bounded cost) and one affine a*b* map (``palette.matching_transform``)
  moves it onto the target's. The same map applies to every tile, so tiles stay seamless; L* is
  never changed.

Both are computed before the first tile is written, so a style costs a few extra tile predictions per
input, not a second pass.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from geocolor.errors import InputError
from geocolor.models.colorizer import Colorizer, StyleCode, Wrapping
from geocolor.style.palette import Moments, matching_transform
from geocolor.style.reference import ColorSample, pool_samples, read_reference, subsample
from geocolor.style.tone import apply_curve, curve_summary, pool_quantiles, quantiles, tone_curve
from geocolor.types import Bounds

if TYPE_CHECKING:
    import torch

    from geocolor.raster import InputPlan
    from geocolor.style.dodge import ExposureField
    from geocolor.types import RasterReader

log = logging.getLogger(__name__)

AUTO = "auto"
SAMPLE_TILES = 12  # tiles predicted per input to measure its palette


@dataclass(frozen=True)
class StyleTarget:
    """The palette every output should get: a style code and the a*b* moments it stands for."""

    code: list[float]
    moments: Moments
    source: str
    bounds: Bounds | None = None  # where an input's own palette is measured (its CRS); None: everywhere
    lightness: np.ndarray | None = None  # L* quantiles every input's tone is matched to (None: no tone matching)


StyleSpec = str | Path | StyleTarget
"""A ``--style``: a reference raster's path, a named style of the model, ``auto``, or a resolved target."""


def target_from_sample(sample: ColorSample, lightness: np.ndarray | None = None) -> StyleTarget:
    """The target a colour sample stands for; its tone is the sample's own L* unless ``lightness`` is given."""
    tone = quantiles(sample.lab[:, 0]) if lightness is None else lightness
    return StyleTarget(sample.code(), sample.moments(), sample.source, lightness=tone)


def resolve_style(style: str, translator: Colorizer) -> StyleTarget:
    """A reference raster path or a style name stored in the model file -> ``StyleTarget``."""
    if style == AUTO:
        raise InputError("--style auto pools several inputs: give two or more inputs and --out-dir")
    if Path(style).exists():
        return target_from_sample(read_reference(style))
    named = (translator.metadata.get("style") or {}).get("named") or {}
    if style in named:
        section = translator.metadata.get("style") or {}
        tones = section.get("named_lightness") or {}
        tone = np.asarray(tones[style], dtype=np.float64) if style in tones else None
        target = target_from_code(named[style], f"named style {style}", tone)
        stats = (section.get("named_stats") or {}).get(style)  # learned codes: the palette is the style's statistics
        return replace(target, moments=target_from_code(stats, "").moments) if stats else target
    known = f"this model's named styles: {', '.join(sorted(named))}" if named else "this model has no named styles"
    raise InputError(f"--style {style!r} is neither an existing reference raster nor a named style ({known})")


def target_from_code(code: Sequence[float], source: str, lightness: np.ndarray | None = None) -> StyleTarget:
    import torch

    from geocolor.models.style import code_moments

    mean, cov = code_moments(torch.tensor(code, dtype=torch.float64))
    return StyleTarget(list(code), Moments(mean.numpy(), cov.numpy(), 0), source, lightness=lightness)


@dataclass
class StyledTranslator(Wrapping, Colorizer):
    """A colorizer whose input L* goes through ``tone`` and whose predictions are conditioned on
    ``code`` and/or moved by ``transform``. Its metadata, device and tiles are ``base``'s."""

    base: Colorizer
    code: list[float] | None = None
    transform: tuple[np.ndarray, np.ndarray] | None = None
    tone: np.ndarray | None = None  # a tone curve (geocolor.style.tone) applied to the network's input only
    description: str = ""
    metadata: Mapping[str, Any] = field(init=False, repr=False, compare=False)
    device: torch.device = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.metadata = self.base.metadata
        self.device = self.base.device

    def predict_array(self, lightness: np.ndarray) -> np.ndarray:
        """``predict_chroma`` on numpy arrays, as the mosaic calls it."""
        import torch

        out: np.ndarray = self.predict_chroma(torch.from_numpy(np.ascontiguousarray(lightness, dtype=np.float32))).cpu().numpy()
        return out

    def predict_chroma(self, lightness: torch.Tensor, style: StyleCode | None = None) -> torch.Tensor:
        """``base``'s prediction for the toned ``lightness``, conditioned on ``style`` (default: ``code``),
        then moved by ``transform``."""
        import torch

        if self.tone is not None:
            lightness = apply_curve(lightness, self.tone)
        code = self.code if style is None else style
        ab = self.base.predict_chroma(lightness) if code is None else self.base.predict_chroma(lightness, style=code)
        if self.transform is None:
            return ab
        a, b = (torch.as_tensor(v, dtype=ab.dtype, device=ab.device) for v in self.transform)
        return torch.einsum("ij,njhw->nihw", a, ab) + b[None, :, None, None]


def _region(ds: RasterReader, bounds: Bounds | None) -> tuple[int, int, int, int]:
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


def _sample_tiles(
    ds: RasterReader, plan: InputPlan, tile: int, max_tiles: int, bounds: Bounds | None, dodge: ExposureField | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Up to ``max_tiles`` tiles spread evenly over ``ds`` (inside ``bounds``): yields (L* tile as the
    network sees it (dodged when ``dodge``, a ``geocolor.style.dodge.ExposureField``, is given), the
    input's own L* tile, valid mask)."""
    from rasterio.windows import Window

    from geocolor.raster import to_lightness

    c0, r0, c1, r1 = _region(ds, bounds)
    per_axis = max(1, int(np.ceil(np.sqrt(max_tiles))))
    for y in _starts(r0, r1, ds.height, tile, per_axis):
        for x in _starts(c0, c1, ds.width, tile, per_axis):
            win = Window(int(x), int(y), min(tile, ds.width - int(x)), min(tile, ds.height - int(y)))
            lum = to_lightness(ds.read(list(plan.bands), window=win), plan)
            valid = ds.dataset_mask(window=win) > 0
            rows, cols = np.ogrid[y : y + lum.shape[0], x : x + lum.shape[1]]
            valid &= (rows >= r0) & (rows < r1) & (cols >= c0) & (cols < c1) & np.isfinite(lum)
            yield (lum if dodge is None else dodge.apply(lum, int(x), int(y))), lum, valid


def lightness_sample(ds: RasterReader, plan: InputPlan, tile: int, max_tiles: int = SAMPLE_TILES,
                     bounds: Bounds | None = None, dodge: ExposureField | None = None) -> np.ndarray:
    """The L* quantiles (``geocolor.style.tone``) of the same tiles ``prediction_sample`` predicts, as the
    network sees them before any tone curve (dodged when ``dodge`` is given)."""
    values = [lum[valid] for lum, _, valid in _sample_tiles(ds, plan, tile, max_tiles, bounds, dodge)]
    values = [v for v in values if len(v)]
    if not values:
        raise InputError(f"{ds.name} holds no valid pixels to measure its tone on")
    return quantiles(np.concatenate(values))


def prediction_sample(
    translator: Colorizer, ds: RasterReader, plan: InputPlan, tile: int, max_tiles: int = SAMPLE_TILES,
    bounds: Bounds | None = None, dodge: ExposureField | None = None,
) -> ColorSample:
    """Predicted Lab pixels of up to ``max_tiles`` tiles spread evenly over ``ds`` (valid pixels only).

    With ``bounds`` (in the raster's CRS) only pixels inside them count; tiles still see their full
    context. L* is the input's own (before any tone curve); a*b* are ``translator``'s predictions.
    """
    import torch

    parts: list[np.ndarray] = []
    for seen, lum, valid in _sample_tiles(ds, plan, tile, max_tiles, bounds, dodge):
        pad = ((0, tile - lum.shape[0]), (0, tile - lum.shape[1]))
        ab = translator.predict_chroma(torch.from_numpy(np.pad(seen, pad, mode="symmetric"))[None, None]).cpu().numpy()[0]
        ab = ab[:, : lum.shape[0], : lum.shape[1]]
        px = np.stack([lum[valid], ab[0][valid], ab[1][valid]], axis=1)
        parts.append(subsample(px[np.isfinite(px).all(axis=1)], 1 << 14, seed=len(parts)))
    lab = np.concatenate(parts) if parts else np.empty((0, 3), np.float32)
    if not len(lab):
        raise InputError(f"{ds.name} holds no valid pixels to measure its palette on")
    return ColorSample(lab.astype(np.float32), str(ds.name))


def _toned(translator: Colorizer, target_tone: np.ndarray | None, ds: RasterReader, plan: InputPlan, tile: int, bounds: Bounds | None,
           code: list[float] | None = None, dodge: ExposureField | None = None) -> StyledTranslator:
    """``translator`` with ``code`` and, when the target has a tone, the curve taking ``ds``'s tone onto it."""
    styled = StyledTranslator(translator, code=code)
    if target_tone is not None:
        styled.tone = tone_curve(lightness_sample(ds, plan, tile, bounds=bounds, dodge=dodge), target_tone)
    return styled


def styled_translator(translator: Colorizer, target: StyleTarget, ds: RasterReader, plan: InputPlan, tile: int,
                      dodge: ExposureField | None = None) -> StyledTranslator:
    """Tone-match, condition (stylecolor models) and palette-match ``translator`` for input ``ds`` (see
    module docstring); ``dodge``: the input's exposure field, when the mosaic dodges its input."""
    conditioned = translator.style_conditioned
    styled = _toned(translator, target.lightness, ds, plan, tile, target.bounds, code=target.code if conditioned else None, dodge=dodge)
    own = prediction_sample(styled, ds, plan, tile, bounds=target.bounds, dodge=dodge).moments()
    styled.transform = matching_transform(own, target.moments)
    how = "style code + palette matching" if conditioned else "palette matching"
    how = f"tone + {how}" if styled.tone is not None else how
    where = " (measured where it overlaps the other inputs)" if target.bounds else ""
    styled.description = f"{how} to {Path(target.source).name}{where}"
    tone = f", tone L* {curve_summary(styled.tone)}" if styled.tone is not None else ""
    log.info("%s: %s (prediction a*b* mean %s -> %s%s)", Path(ds.name).name, styled.description,
             np.round(own.mean, 1).tolist(), np.round(target.moments.mean, 1).tolist(), tone)
    return styled


def auto_target(translator: Colorizer, inputs: list[tuple[RasterReader, InputPlan]], tile: int, bounds: Sequence[Bounds | None] | None = None,
                tone: bool = True, dodges: Sequence[ExposureField | None] | None = None) -> StyleTarget:
    """The pooled palette of the (unstyled) predictions of all ``inputs``, given as ``(ds, plan)`` pairs,
    each measured inside its ``bounds`` (None: everywhere). With ``tone``, the inputs are first
    tone-matched to their pooled L* (each counts the same) and the palette is that of those predictions.
    ``dodges``: each input's exposure field when the mosaic dodges its inputs."""
    bounds = bounds or [None] * len(inputs)
    dodges = dodges or [None] * len(inputs)
    pooled_tone = None
    if tone:
        pooled_tone = pool_quantiles([lightness_sample(ds, plan, tile, bounds=b, dodge=f)
                                      for (ds, plan), b, f in zip(inputs, bounds, dodges)])
    samples = [prediction_sample(_toned(translator, pooled_tone, ds, plan, tile, b, dodge=f), ds, plan, tile, bounds=b, dodge=f)
               for (ds, plan), b, f in zip(inputs, bounds, dodges)]
    pooled = pool_samples(samples, source=f"auto ({len(samples)} inputs)")
    return replace(target_from_sample(pooled), lightness=pooled_tone)
