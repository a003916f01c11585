"""What ``evaluate`` reads: a built dataset's split, a folder of plain images, or a GeoTIFF pair.

Every source becomes an ``EvalSet``: a list of ``Sample`` (an id, the gray input the models see, the
colour truth when there is one, and an already made output in pair mode) plus a note of where it came
from. Plain colour images give their own L* as the gray input; plain gray images have no truth, so
only colourfulness (and FID against real colour, when weights exist) can be measured on them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from geocolor.color import lightness_to_gray, rgb_to_lab
from geocolor.errors import InputError
from geocolor.types import PathLike, RasterReader

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


@dataclass
class Sample:
    id: str
    gray: np.ndarray  # H x W uint8: what a model sees
    truth: np.ndarray | None = None  # H x W x 3 uint8
    output: np.ndarray | None = None  # H x W x 3 uint8, given in pair mode


@dataclass
class EvalSet:
    mode: str  # "dataset", "images" or "pair"
    source: str
    samples: list[Sample]
    train_colours: list[np.ndarray] = field(default_factory=list)  # for the mean-colour baseline
    reference: list[np.ndarray] = field(default_factory=list)  # real colour chips to compare outputs with
    reference_source: str = ""

    @property
    def has_truth(self) -> bool:
        return all(s.truth is not None for s in self.samples)


def gray_of(rgb: np.ndarray) -> np.ndarray:
    """The sRGB gray image with the same L* as ``rgb`` (uint8 in, uint8 out)."""
    lum = rgb_to_lab(rgb.astype(np.float32) / 255.0)[..., 0]
    return np.round(np.clip(lightness_to_gray(lum), 0.0, 1.0) * 255.0).astype(np.uint8)


def load_dataset(root: PathLike, split: str = "test") -> EvalSet:
    """The paired chips of ``split`` in a dataset built by ``geocolor dataset``."""
    from geocolor.dataset.loader import PairedChips

    chips = PairedChips(root, split)
    if not len(chips):
        raise InputError(f"{root} has no {split} chips; pick another --split or rebuild the dataset")
    samples = [Sample(c.id, c.gray, c.color) for c in chips]
    train = PairedChips(root, "train")
    colours = [train[i].color for i in range(len(train))]
    return EvalSet("dataset", str(root), samples, colours)


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        arr = np.asarray(im.convert("L") if im.mode in ("L", "I;16", "I", "F", "1") else im.convert("RGB"))
    return arr.astype(np.uint8)


def load_images(folder: PathLike) -> EvalSet:
    """Every image in ``folder``: colour ones are their own truth, gray ones have none."""
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise InputError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    samples = []
    for p in paths:
        img = _read_image(p)
        if _is_colour(img):
            samples.append(Sample(p.stem, gray_of(img), img))
        else:
            samples.append(Sample(p.stem, img if img.ndim == 2 else img[..., 0]))
    return EvalSet("images", str(folder), samples)


def _read_rgb_raster(path: PathLike) -> np.ndarray:
    import rasterio

    from geocolor.raster import open_raster

    with open_raster(path) as src:
        if src.count < 3:
            raise InputError(f"{path} has {src.count} band(s); a colour GeoTIFF with 3 bands is needed")
        try:
            return np.moveaxis(src.read([1, 2, 3]), 0, -1).astype(np.uint8)
        except rasterio.errors.RasterioError as e:
            raise InputError(f"{path} is not a raster GDAL can read ({str(e).splitlines()[0][:120]})") from None


def load_pair(output: PathLike, truth: PathLike, size: int = 256) -> EvalSet:
    """A colorized GeoTIFF and its colour truth, same grid, cut into ``size`` chips (all-black chips dropped)."""
    out, ref = _read_rgb_raster(output), _read_rgb_raster(truth)
    if out.shape != ref.shape:
        raise InputError(f"{output} is {out.shape[1]}x{out.shape[0]} but {truth} is {ref.shape[1]}x{ref.shape[0]}; they must share a grid")
    samples = []
    for r in range(0, out.shape[0] - size + 1, size):
        for c in range(0, out.shape[1] - size + 1, size):
            t = ref[r : r + size, c : c + size]
            if t.max() == 0:
                continue
            samples.append(Sample(f"r{r}_c{c}", gray_of(t), t, out[r : r + size, c : c + size]))
    if not samples:
        raise InputError(f"{truth} is smaller than one {size}-pixel chip or all nodata; use a smaller --chip-size")
    return EvalSet("pair", f"{output} vs {truth}", samples)


def spread(items: list, limit: int | None) -> list:
    """At most ``limit`` items, evenly spaced over the list (all of them when ``limit`` is None)."""
    if limit is None or len(items) <= limit:
        return items
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, limit).round()]


def _valid_windows(ds: RasterReader, size: int) -> list[Any]:
    """The raster's ``size`` x ``size`` windows that are at least half valid (nodata, alpha and masks alike)."""
    from rasterio.windows import Window

    wins = [Window(c, r, size, size) for r in range(0, ds.height - size + 1, size) for c in range(0, ds.width - size + 1, size)]
    return [w for w in wins if (ds.dataset_mask(window=w) > 0).mean() >= 0.5]


def _raster_chips(path: PathLike, size: int, colour: bool, max_chips: int | None = None) -> list[tuple[str, np.ndarray]]:
    """``size`` chips of a raster as gray uint8 (any 1- or 3-band input, stretched as mosaic does) or sRGB uint8.

    A raster with more than three bands (NAIP's R, G, B, NIR) is read as its first three. Chips that
    are more than half nodata are left out; of the rest at most ``max_chips``, evenly spread, are read.
    """
    from geocolor.raster import open_raster, plan_input, to_lightness

    chips = []
    with open_raster(str(path)) as ds:
        plan = plan_input(ds, bands=(1, 2, 3) if ds.count > 3 else None)
        if colour and len(plan.bands) != 3:
            raise InputError(f"{path} has {len(plan.bands)} colour band(s); the reference must be a 3-band colour raster")
        if colour and not plan.uint8:
            raise InputError(f"{path} is {ds.dtypes[0]}; the colour reference must be 8-bit sRGB")
        for win in spread(_valid_windows(ds, size), max_chips):
            data = ds.read(list(plan.bands), window=win)
            img = np.moveaxis(data, 0, -1) if colour else np.round(np.clip(lightness_to_gray(to_lightness(data, plan)), 0, 1) * 255)
            chips.append((f"r{win.row_off}_c{win.col_off}", img.astype(np.uint8)))
    if not chips:
        raise InputError(f"{path} gives no {size}-pixel chip with mostly valid pixels; use a smaller --chip-size")
    return chips


def _is_colour(img: np.ndarray) -> bool:
    return img.ndim == 3 and not (np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2]))


def load_gray_inputs(path: PathLike, size: int = 256, max_chips: int | None = None) -> list[Sample]:
    """Gray inputs without truth: a raster cut into chips, or every image of a folder (colour ones reduced to L*)."""
    if Path(path).is_dir():
        return spread([Sample(s.id, s.gray) for s in load_images(path).samples], max_chips)
    return [Sample(i, img) for i, img in _raster_chips(path, size, colour=False, max_chips=max_chips)]


def load_colour_reference(path: PathLike, size: int = 256, max_chips: int | None = None) -> list[np.ndarray]:
    """Real colour chips: a 3-band 8-bit raster cut into chips, or the colour images of a folder."""
    if not Path(path).is_dir():
        return [img for _, img in _raster_chips(path, size, colour=True, max_chips=max_chips)]
    imgs = [_read_image(p) for p in sorted(Path(path).iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    colour = [i for i in imgs if _is_colour(i)]
    if len(colour) < len(imgs):
        log.warning("%d gray image(s) in %s left out of the colour reference", len(imgs) - len(colour), path)
    if not colour:
        raise InputError(f"{path} holds no colour images to use as the reference")
    return spread(colour, max_chips)


def load_unpaired(inputs: PathLike, reference: PathLike | None = None, size: int = 256,
                  max_chips: int | None = None) -> EvalSet:
    """Gray inputs (no truth) and, optionally, real colour reference chips of the same area."""
    samples = load_gray_inputs(inputs, size, max_chips)
    ref = load_colour_reference(reference, size, max_chips) if reference is not None else []
    return EvalSet("unpaired", str(inputs), samples, reference=ref, reference_source=str(reference or ""))
