"""Typed settings of the dataset builder: one ``DatasetConfig`` tree of dataclasses.

The CLI, pipelines (YAML) and library callers all build a ``DatasetConfig``; ``build_dataset`` takes
nothing else. ``config_from_dict`` reads a plain mapping (e.g. parsed YAML), refusing unknown keys so
a typo cannot silently build the wrong dataset, and ``settings_of`` gives the JSON-able view stored in
``dataset.json`` to decide whether a re-run may resume.

The film-degradation parameters live in ``FilmConfig``: one small section per effect, each with a
probability ``p`` and ``(low, high)`` ranges that every chip draws from with its own seeded generator.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any

from geocolor.errors import ConfigError

Range = tuple[float, float]
SPLITS = ("train", "val", "test")
LAYOUTS = ("paired", "unpaired", "manifest")


@dataclass
class GrainConfig:
    """Film grain: band-limited noise, strongest in the mid-tones. Sizes are Gaussian sigmas in pixels."""

    p: float = 1.0
    amount: Range = (0.01, 0.04)
    size: Range = (0.4, 1.0)


@dataclass
class BlurConfig:
    """Optical softness (Gaussian ``sigma`` px) and, with ``defocus_p``, a defocus disk of ``defocus_radius`` px."""

    p: float = 0.7
    sigma: Range = (0.3, 1.2)
    defocus_p: float = 0.15
    defocus_radius: Range = (1.0, 2.5)


@dataclass
class FadeConfig:
    """Faded print: blacks lifted to ``black``, whites dulled to ``white``, tone curve ``gamma``."""

    p: float = 0.9
    black: Range = (0.03, 0.18)
    white: Range = (0.78, 0.97)
    gamma: Range = (0.85, 1.2)


@dataclass
class VignetteConfig:
    """Lens falloff (cos^4 law). ``focal`` is the focal length in chip widths; the frame centre lies
    up to ``offset`` chip widths outside the chip, since a chip is a small crop of a frame."""

    p: float = 0.6
    strength: Range = (0.1, 0.4)
    focal: Range = (1.5, 4.0)
    offset: float = 1.0


@dataclass
class DustConfig:
    """Dust specks: ``count`` soft dots per 256 x 256 px (scaled to the chip's area) of ``radius`` px."""

    p: float = 0.5
    count: Range = (1, 25)
    radius: Range = (0.4, 2.0)


@dataclass
class ScratchConfig:
    """Scratches: ``count`` thin lines, mostly along the film transport direction."""

    p: float = 0.25
    count: Range = (1, 3)
    opacity: Range = (0.2, 0.6)


@dataclass
class DriftConfig:
    """Exposure drift between frames: gain, offset and a gentle gradient across the chip."""

    p: float = 1.0
    brightness: Range = (-0.08, 0.08)
    gain: Range = (0.88, 1.12)
    gradient: Range = (0.0, 0.05)


@dataclass
class ScanConfig:
    """Scanning and storage: JPEG at ``jpeg_quality`` and scanner line noise (std per row)."""

    p: float = 0.6
    jpeg_quality: Range = (35, 90)
    line_noise: Range = (0.0, 0.01)


@dataclass
class FilmConfig:
    """The film degradation model; ``order`` names the effects in the order they are applied."""

    order: list[str] = field(default_factory=lambda: ["vignette", "blur", "grain", "fade", "drift", "dust", "scratch", "scan"])
    vignette: VignetteConfig = field(default_factory=VignetteConfig)
    blur: BlurConfig = field(default_factory=BlurConfig)
    grain: GrainConfig = field(default_factory=GrainConfig)
    fade: FadeConfig = field(default_factory=FadeConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    dust: DustConfig = field(default_factory=DustConfig)
    scratch: ScratchConfig = field(default_factory=ScratchConfig)
    scan: ScanConfig = field(default_factory=ScanConfig)


@dataclass
class FilterConfig:
    """Which chips are skipped: mostly nodata, blank (flat), cloud-white, or duplicates of one already kept."""

    max_nodata: float = 0.05  # skip when more than this fraction of pixels is nodata
    min_std: float = 2.0  # skip when the gray standard deviation (0..255) is below this
    max_white: float = 0.5  # skip when more than this fraction of pixels is near-white and unsaturated
    white_level: int = 230
    dedupe: bool = True


@dataclass
class DatasetConfig:
    """Everything ``build_dataset`` needs. ``src`` entries may be rasters, VRTs or folders of GeoTIFF tiles."""

    src: list[str] = field(default_factory=list)
    out: str = ""
    size: int = 256
    stride: int | None = None  # default: size (no overlap)
    bands: list[int] | None = None  # colour bands; default: the red/green/blue bands, else 1,2,3
    gray: str = "lstar"  # lstar | bt601 | film | band:N | weights:R,G,B
    degrade: str = "film"  # film | none
    film: FilmConfig = field(default_factory=FilmConfig)
    split: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    block_size: float | None = None  # metres; default 10 chip widths
    split_gap: float | None = None  # metres a held-out chip keeps from other splits' blocks; default half a chip
    split_crs: str | None = None  # CRS of the block grid; default the first source's (UTM if geographic)
    layouts: list[str] = field(default_factory=lambda: list(LAYOUTS))
    filters: FilterConfig = field(default_factory=FilterConfig)
    unpaired_a: list[str] = field(default_factory=list)
    unpaired_a_only: bool = False  # trainA/testA hold only the real photos, not degraded modern gray
    seed: int = 0
    preview: int = 8  # rows in preview.png; 0 for none
    overwrite: bool = False

    @property
    def chip_stride(self) -> int:
        return self.stride or self.size

    def fractions(self) -> dict[str, float]:
        total = sum(self.split)
        return {name: f / total for name, f in zip(SPLITS, self.split, strict=True)}


def validate(cfg: DatasetConfig) -> None:
    """Raise ``ConfigError`` with a hint for settings that cannot work."""
    from geocolor.dataset.film import EFFECTS
    from geocolor.dataset.gray import gray_converter

    if not cfg.src:
        raise ConfigError("no source given: name a colour raster, VRT or folder of GeoTIFF tiles")
    if not cfg.out:
        raise ConfigError("no output folder given")
    if cfg.size < 8 or cfg.chip_stride < 1:
        raise ConfigError(f"size must be >= 8 and stride >= 1, got size {cfg.size}, stride {cfg.chip_stride}")
    if len(cfg.split) != 3 or any(f < 0 for f in cfg.split) or sum(cfg.split) <= 0:
        raise ConfigError(f"split must be three non-negative fractions train,val,test like 0.8,0.1,0.1, got {cfg.split}")
    if cfg.degrade not in ("film", "none"):
        raise ConfigError(f"degrade must be film or none, got {cfg.degrade!r}")
    unknown = [e for e in cfg.film.order if e not in EFFECTS]
    if unknown:
        raise ConfigError(f"unknown film effect(s) {', '.join(unknown)}; known: {', '.join(EFFECTS)}")
    bad = [name for name in cfg.layouts if name not in LAYOUTS]
    if bad or not cfg.layouts:
        raise ConfigError(f"layouts must be some of {', '.join(LAYOUTS)}, got {cfg.layouts}")
    if cfg.unpaired_a and "unpaired" not in cfg.layouts:
        raise ConfigError("--unpaired-a needs the unpaired layout; add it to --layout")
    if cfg.bands is not None and len(cfg.bands) != 3:
        raise ConfigError(f"bands must name three colour bands like 1,2,3, got {cfg.bands}")
    for value, name in ((cfg.block_size, "block size"), (cfg.split_gap, "split gap")):
        if value is not None and value < 0:
            raise ConfigError(f"{name} must be positive, got {value}")
    if not 0 <= cfg.filters.max_nodata < 1:
        raise ConfigError(f"max_nodata must be in [0, 1), got {cfg.filters.max_nodata}")
    gray_converter(cfg.gray)


def config_from_dict(data: dict[str, Any]) -> DatasetConfig:
    """A ``DatasetConfig`` from a plain mapping (YAML); unknown keys and wrong types are ``ConfigError``."""
    from geocolor.configs import build

    cfg: DatasetConfig = build(DatasetConfig, data, root="dataset config")
    return cfg


def load_config_file(path: str) -> dict[str, Any]:
    """The mapping in a YAML dataset config file (``stage:`` keys of pipelines are dropped)."""
    from geocolor.configs import read_mapping

    return read_mapping(path, "dataset config")


def settings_of(cfg: DatasetConfig) -> dict[str, Any]:
    """The settings that decide the dataset's content (JSON-able); ``overwrite`` and ``out`` are left out."""
    data = dataclasses.asdict(cfg)
    for key in ("overwrite", "out"):
        data.pop(key)
    return typing.cast(dict[str, Any], _jsonable(data))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
