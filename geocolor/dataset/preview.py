"""Preview grids: one row per chip, columns clean gray | degraded gray | colour, as one PNG.

``dataset_preview`` draws rows from a built dataset (``preview.png``); ``source_preview`` draws chips
straight from a raster without building anything, to try gray and film settings quickly
(``geocolor dataset preview SRC PNG``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from geocolor.dataset.chips import chip_windows, skip_reason
from geocolor.dataset.config import DatasetConfig
from geocolor.dataset.film import degrade
from geocolor.dataset.gray import gray_converter
from geocolor.dataset.io import write_png
from geocolor.dataset.sources import SourceReader, open_sources
from geocolor.errors import InputError, OutputExistsError
from geocolor.types import PathLike

log = logging.getLogger(__name__)

Row = tuple[str, np.ndarray, np.ndarray, np.ndarray]  # label, clean gray, degraded gray, colour
COLUMNS = ("clean gray", "degraded gray", "colour")


def make_grid(rows: list[Row], pad: int = 4, header: int = 14, min_width: int = 128) -> np.ndarray:
    """Stack rows of (label, clean, degraded, colour) into one RGB image with column titles and labels.

    Chips narrower than ``min_width`` are enlarged (nearest neighbour) so grain and specks stay visible.
    """
    from PIL import Image, ImageDraw

    h0, w0 = rows[0][1].shape
    zoom = max(1, -(-min_width // w0))
    h, w = h0 * zoom, w0 * zoom
    canvas = Image.new("RGB", (3 * w + 4 * pad, header + len(rows) * (h + header) + pad), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for j, title in enumerate(COLUMNS):
        draw.text((pad + j * (w + pad), 2), title, fill=(0, 0, 0))
    for i, (label, *images) in enumerate(rows):
        y = header + i * (h + header)
        draw.text((pad, y), label[-(3 * w // 6):], fill=(80, 80, 80))
        for j, img in enumerate(images):
            tile = Image.fromarray(img).convert("RGB").resize((w, h), Image.Resampling.NEAREST)
            canvas.paste(tile, (pad + j * (w + pad), y + header - 2))
    return np.asarray(canvas)


def dataset_preview(root: PathLike, cfg: DatasetConfig, n: int) -> Path | None:
    """Write ``preview.png`` for a built dataset: ``n`` chips drawn with the seed, spread over the splits."""
    from geocolor.dataset.loader import PairedChips

    root = Path(root)
    chips = PairedChips(root, split=None)
    if not len(chips):
        return None
    picks = sorted(np.random.default_rng(cfg.seed).choice(len(chips), size=min(n, len(chips)), replace=False))
    to_gray = gray_converter(cfg.gray)
    rows = []
    for i in picks:
        chip = chips[int(i)]
        rows.append((f"{chip.split}: {chip.id}", to_gray(chip.color), chip.gray, chip.color))
    path = root / "preview.png"
    write_png(path, make_grid(rows))
    return path


def source_preview(cfg: DatasetConfig, png: PathLike, n: int = 8) -> Path:
    """Write a preview grid of ``n`` chips spread evenly over the first source, without building a dataset."""
    from geocolor.dataset.config import validate

    validate(cfg)
    png = Path(png)
    if png.exists() and not cfg.overwrite:
        raise OutputExistsError(f"{png} exists; pass --overwrite to replace it")
    src = open_sources(cfg.src[:1], cfg.bands)[0]
    windows = list(chip_windows(src, 0, cfg.size, cfg.chip_stride))
    if not windows:
        raise InputError(f"no {cfg.size} px chip fits in {src.path} ({src.width} x {src.height} px); lower --size")
    to_gray = gray_converter(cfg.gray)
    rows: list[Row] = []
    order = np.linspace(0, len(windows) - 1, num=min(len(windows), 4 * n)).round().astype(int)
    with SourceReader(src) as reader:
        for k in dict.fromkeys(order.tolist()):
            patch = reader.read(windows[k].window)
            rgb = np.ascontiguousarray(patch.data.transpose(1, 2, 0))
            clean = to_gray(rgb)
            if skip_reason(rgb, clean, patch.valid, cfg.filters):
                continue
            degraded = degrade(clean, cfg.film, cfg.seed, windows[k].id) if cfg.degrade == "film" else clean
            rows.append((windows[k].id, clean, degraded, rgb))
            if len(rows) == n:
                break
    if not rows:
        raise InputError(f"every chip of {src.path} was filtered out (nodata, blank or cloud); check the source or --size")
    write_png(png, make_grid(rows))
    log.info("wrote %s (%d rows)", png, len(rows))
    return png
