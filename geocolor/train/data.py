"""Training and held-out chips from colour rasters, split by geography.

Each source raster is read once (small rasters; the dataset builder handles big ones), optionally at
several scales (a 10 cm orthophoto also teaches the model what 40 cm looks like). A ``holdout`` such
as ``right:0.3`` reserves the right 30 % of the raster for testing at every scale; training crops
stay ``gap`` pixels away from it, so no held-out chip touches a training chip. Held-out chips are a
fixed grid inside the reserved part; training crops are random, with flips and 90-degree turns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geocolor.dataset.loader import turn_and_flip
from geocolor.errors import ConfigError, InputError
from geocolor.train.config import DataConfig, SourceConfig

log = logging.getLogger(__name__)


@dataclass
class Region:
    """A pixel rectangle [row0, row1) x [col0, col1) of one scaled source image."""

    image: np.ndarray  # H x W x 3 uint8
    row0: int
    row1: int
    col0: int
    col1: int
    weight: float
    name: str

    @property
    def fits(self) -> bool:
        return self.row1 - self.row0 > 0 and self.col1 - self.col0 > 0


def read_rgb(src: SourceConfig) -> np.ndarray:
    """Read the three colour bands of a raster as H x W x 3 uint8; nodata/alpha pixels become 0
    (``geocolor.raster.read_rgb``, the one rule every colour source is read by)."""
    from geocolor import raster

    if not Path(src.path).exists():
        raise InputError(f"cannot read training source {src.path}: no such file")
    try:
        return raster.read_rgb(src.path, src.bands)
    except InputError as e:
        raise InputError(f"cannot read training source {src.path}: {e}") from None


def _rescale(img: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return img
    from PIL import Image

    h, w = img.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(img).resize(size, Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC))


def _split_regions(h: int, w: int, holdout: str, gap: int) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int] | None]:
    """(train box, test box) as (row0, row1, col0, col1) for a holdout spec like ``right:0.3``."""
    if holdout == "none":
        return (0, h, 0, w), None
    try:
        side, frac_text = holdout.split(":")
        frac = float(frac_text)
    except ValueError:
        raise ConfigError(f"holdout {holdout!r} must look like right:0.3 (side:fraction) or none") from None
    if not 0 < frac < 1:
        raise ConfigError(f"holdout fraction must be in (0, 1), got {frac}")
    if side in ("right", "left"):
        cut = round(w * (1 - frac)) if side == "right" else round(w * frac)
        if side == "right":
            return (0, h, 0, max(0, cut - gap)), (0, h, cut, w)
        return (0, h, min(w, cut + gap), w), (0, h, 0, cut)
    if side in ("bottom", "top"):
        cut = round(h * (1 - frac)) if side == "bottom" else round(h * frac)
        if side == "bottom":
            return (0, max(0, cut - gap), 0, w), (cut, h, 0, w)
        return (min(h, cut + gap), h, 0, w), (0, cut, 0, w)
    raise ConfigError(f"holdout side must be right, left, top or bottom, got {side!r}")


class ChipData:
    """Training regions (random crops) and held-out test chips (fixed grid) from the configured sources.

    ``sample_pairs`` and ``test_grays`` give the gray input alongside the colour target; ``None``
    means "the colour chip's own L*" (raster sources), an array means a separate, possibly degraded,
    gray input (datasets built by ``geocolor dataset``).
    """

    def __init__(self, cfg: DataConfig, seed: int = 0) -> None:
        self.cfg = cfg
        self.train: list[Region] = []
        self.test_chips: list[np.ndarray] = []
        self.test_grays: list[np.ndarray] | None = None
        self.paired: Any = None
        self.test_names: list[str] = []
        self.summary: list[dict[str, Any]] = []
        self.last_sources: list[str] | None = None  # the sources of the last sampled batch (None: a built dataset)
        t = cfg.tile
        self.provenance: list[dict[str, Any]] | None = None
        if cfg.dataset:
            self._load_dataset(cfg.dataset, seed)
        for src in [*cfg.sources, *self._catalog_sources()]:
            full = read_rgb(src)
            for scale in src.scales:
                img = _rescale(full, scale)
                h, w = img.shape[:2]
                train_box, test_box = _split_regions(h, w, src.holdout, cfg.gap)
                if src.split == "test" and test_box is None:
                    test_box = (0, h, 0, w)
                name = f"{src.path.rsplit('/', 1)[-1]}@{scale:g}"
                if src.split in ("both", "train"):
                    box = (0, h, 0, w) if src.split == "train" and test_box is None else train_box
                    r = Region(img, box[0], box[1], box[2], box[3], weight=src.weight, name=name)
                    if r.row1 - r.row0 >= t and r.col1 - r.col0 >= t:
                        self.train.append(r)
                    else:
                        log.warning("%s: training area %dx%d is smaller than the tile; skipped", name, r.row1 - r.row0, r.col1 - r.col0)
                if test_box is not None and src.split in ("both", "test"):
                    self._grid_chips(img, test_box, name)
                if src.group is None:
                    self.summary.append({"source": name, "pixels": h * w, "train_box": train_box, "test_box": test_box})
                else:
                    self._count_group(src, scale, h * w)
        if not self.train and self.paired is None:
            raise ConfigError("no training area is at least one tile in size; lower data.tile or add sources")
        weights = np.array([r.weight for r in self.train] or [1.0], dtype=np.float64)
        self.probs = weights / weights.sum()
        self.rng = np.random.default_rng(seed)

    def _count_group(self, src: SourceConfig, scale: float, pixels: int) -> None:
        """One summary line per catalogue source (not per file): files, pixels, scales, split."""
        for entry in self.summary:
            if entry.get("source") == src.group:
                break
        else:
            entry = {"source": src.group, "split": src.split, "files": 0, "pixels": 0, "scales": []}
            self.summary.append(entry)
        entry["pixels"] += pixels
        if scale == src.scales[0]:
            entry["files"] += 1
        if scale not in entry["scales"]:
            entry["scales"] = sorted([*entry["scales"], scale], reverse=True)

    def _catalog_sources(self) -> list[SourceConfig]:
        """The catalogue's train sources at every gsd, and its val sources as held-out chips."""
        if not self.cfg.catalog:
            return []
        from geocolor.quality.catalog import held_out_sources, load_catalog, provenance, training_sources

        cat = load_catalog(self.cfg.catalog)
        unknown = set(self.cfg.catalog_skip) - {s.name for s in cat.sources}
        if unknown:
            raise ConfigError(f"data.catalog_skip names no source of {self.cfg.catalog}: {', '.join(sorted(unknown))}")
        self.provenance = [p for p in provenance(cat, ("train", "val")) if p["source"] not in self.cfg.catalog_skip]
        entries = training_sources(cat, self.cfg.gsds, self.cfg.tile) + held_out_sources(cat, ("val",))
        entries = [e for e in entries if e["group"] not in self.cfg.catalog_skip]
        return [SourceConfig(**e) for e in entries]

    def _load_dataset(self, root: str, seed: int) -> None:
        from geocolor.dataset.loader import PairedChips

        self.paired = PairedChips(root, "train", seed=seed)
        if not len(self.paired):
            raise ConfigError(f"{root} has no training chips")
        size = self.paired[0].color.shape[0]
        if size != self.cfg.tile:
            raise ConfigError(f"{root} holds {size} px chips but data.tile is {self.cfg.tile}; set data.tile: {size}")
        held = PairedChips(root, "test")
        held = held if len(held) else PairedChips(root, "val")
        if len(held):
            grays, colors = held.arrays()
            self.test_chips, self.test_grays = list(colors), list(grays)
            self.test_names = [c.id for c in held]
        self.summary.append({"source": str(root), "train_chips": len(self.paired), "test_chips": len(held)})

    def chroma_images(self) -> list[np.ndarray]:
        """Training colour images for the mean-colour baseline (at most 512 chips of a dataset)."""
        if self.paired is not None:
            step = max(1, len(self.paired) // 512)
            return [self.paired[i].color for i in range(0, len(self.paired), step)]
        return [r.image[r.row0 : r.row1, r.col0 : r.col1] for r in self.train]

    def sample_pairs(self) -> tuple[np.ndarray | None, np.ndarray]:
        """A training batch as (gray input or None, colour target)."""
        if self.paired is not None:
            return self.paired.sample_batch(self.cfg.batch_size, augment=self.cfg.augment)
        colour = self.sample_batch()
        if self.cfg.film_prob <= 0:
            return None, colour
        return self._film_grays(colour), colour

    def _film_grays(self, colour: np.ndarray) -> np.ndarray:
        """The crops' L* gray, each film-degraded with probability ``film_prob`` (seeded by the sampler):
        by the fitted film model of ``film_fit`` when given, else by the default one."""
        from geocolor.dataset.config import FilmConfig
        from geocolor.dataset.film import degrade
        from geocolor.dataset.gray import lstar_gray

        fitted = self._fitted_film()
        film = FilmConfig()
        grays = np.stack([lstar_gray(c) for c in colour])
        for i in range(len(grays)):
            if self.rng.random() < self.cfg.film_prob:
                seed = int(self.rng.integers(2**31))
                if fitted is not None:
                    from geocolor.dataset.filmfit import degrade_fitted

                    grays[i] = degrade_fitted(grays[i], fitted, seed, "crop")
                else:
                    grays[i] = degrade(grays[i], film, seed, "crop")
        return grays

    def _fitted_film(self) -> Any:
        """The fitted film model of ``data.film_fit`` (read once), or None."""
        if not self.cfg.film_fit:
            return None
        if getattr(self, "_film_fit_cache", None) is None:
            import json

            from geocolor.dataset.filmfit import FittedFilm

            try:
                self._film_fit_cache = FittedFilm.from_dict(json.loads(Path(self.cfg.film_fit).read_text()))
            except (OSError, ValueError, KeyError, TypeError) as e:
                raise ConfigError(f"data.film_fit {self.cfg.film_fit} is not a fitted film file: {str(e)[:100]}") from None
        return self._film_fit_cache

    def _grid_chips(self, img: np.ndarray, box: tuple[int, int, int, int], name: str) -> None:
        t = self.cfg.tile
        r0, r1, c0, c1 = box
        if r1 - r0 < t or c1 - c0 < t:
            return
        rows = np.unique(np.linspace(r0, r1 - t, max(1, int(np.ceil((r1 - r0) / t)))).round().astype(int))
        cols = np.unique(np.linspace(c0, c1 - t, max(1, int(np.ceil((c1 - c0) / t)))).round().astype(int))
        for r in rows:
            for c in cols:
                chip = img[r : r + t, c : c + t]
                if (chip.max(axis=-1) == 0).mean() < 0.05:
                    self.test_chips.append(chip.copy())
                    self.test_names.append(f"{name}:{r},{c}")

    def sample_batch(self, batch_size: int | None = None) -> np.ndarray:
        """Random training crops, B x T x T x 3 uint8, with flips and 90-degree turns."""
        t = self.cfg.tile
        n = batch_size or self.cfg.batch_size
        out = np.empty((n, t, t, 3), dtype=np.uint8)
        picks = self.rng.choice(len(self.train), size=n, p=self.probs)
        self.last_sources = [self.train[k].name for k in picks]  # "file@scale" of each crop (stylecolor's named styles)
        for i, k in enumerate(picks):
            r = self.train[k]
            for _ in range(10):
                y = int(self.rng.integers(r.row0, r.row1 - t + 1))
                x = int(self.rng.integers(r.col0, r.col1 - t + 1))
                chip = r.image[y : y + t, x : x + t]
                if (chip.max(axis=-1) == 0).mean() < 0.05:
                    break
            if self.cfg.augment:
                (chip,) = turn_and_flip(self.rng, chip)
            out[i] = chip
        return out

    def rng_state(self) -> dict[str, Any]:
        if self.paired is not None:
            return {"paired": self.paired.rng_state()}
        return dict(self.rng.bit_generator.state)

    def set_rng_state(self, state: dict[str, Any]) -> None:
        if self.paired is not None:
            self.paired.set_rng_state(state["paired"])
        else:
            self.rng.bit_generator.state = state
