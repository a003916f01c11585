"""Before any chip is read: lay out the chip windows and decide which split each window would go to.

The split is decided from geometry alone (plus a decimated nodata mask to weigh blocks by the chips
they will likely keep), so it is known before a window is read, the same on every re-run, and a
window that would straddle splits is never read at all.

Colour chips share one block grid in the *split CRS* (see ``geocolor.dataset.splits``). Real
historical photos (``--unpaired-a``) are split in their own pixel grid, per photo, in blocks of three
chip widths and without a gap, because they are an unpaired domain: they carry no colour target that
could leak, and a single scanned frame should still give some test chips.
"""

from __future__ import annotations

import logging
import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from rasterio.crs import CRS
from rasterio.errors import CRSError
from rasterio.warp import transform_bounds
from rasterio.windows import Window

from geocolor.dataset.chips import ChipWindow, chip_windows, window_valid_fraction
from geocolor.dataset.config import SPLITS, DatasetConfig
from geocolor.dataset.sources import Source, SourceReader
from geocolor.dataset.splits import BlockSplit, Box, plan_blocks
from geocolor.errors import ConfigError, InputError

log = logging.getLogger(__name__)


@dataclass
class SplitFrame:
    """The CRS and units the block grid lives in (``crs`` None: pixel units, one grid per source)."""

    crs: CRS | None
    unit: str

    def footprint(self, src: Source, window_box: Box) -> Box:
        if src.crs is None or src.crs == self.crs:
            return window_box
        left, bottom, right, top = transform_bounds(src.crs, self.crs, *window_box, densify_pts=21)
        return left, bottom, right, top


@dataclass
class Plan:
    """Windows per source and the split each window goes to (None: dropped at a split border)."""

    sources: list[Source]
    windows: list[list[ChipWindow]]
    frame: SplitFrame
    blocks: BlockSplit | None
    only_split: str | None  # set when a single split has a non-zero fraction

    def namespace(self, src: Source) -> str:
        return "geo" if self.frame.crs is not None else f"px:{src.name}"

    def box_of(self, cw: ChipWindow) -> Box:
        """The window's footprint in the split CRS, or in pixels (y up) without one."""
        w = cw.window
        if self.frame.crs is None:
            return float(w.col_off), -float(w.row_off + w.height), float(w.col_off + w.width), -float(w.row_off)
        src = self.sources[cw.source]
        return self.frame.footprint(src, src.window_bounds(w))

    def split_of(self, cw: ChipWindow) -> str | None:
        if self.blocks is None:
            return self.only_split
        return self.blocks.split_of(self.namespace(self.sources[cw.source]), self.box_of(cw))

    def info(self) -> dict[str, object]:
        return {"crs": self.frame.crs.to_string() if self.frame.crs else None, "unit": self.frame.unit,
                "block_size": self.blocks.block_size if self.blocks else None,
                "gap": self.blocks.gap if self.blocks else None, "blocks": self._block_counts()}

    def _block_counts(self) -> dict[str, int]:
        if self.blocks is None:
            return {}
        values = list(self.blocks.assignment.values())
        return {s: values.count(s) for s in SPLITS}


def _utm_for(src: Source) -> CRS:
    left, bottom, right, top = transform_bounds(src.crs, "EPSG:4326", *src.window_bounds(_full(src)))
    lon, lat = (left + right) / 2, (bottom + top) / 2
    zone = min(60, max(1, int((lon + 180) // 6) + 1))
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _full(src: Source) -> Window:
    return Window(0, 0, src.width, src.height)


def split_frame(cfg: DatasetConfig, sources: list[Source], needs_split: bool) -> SplitFrame:
    """Choose the split CRS: ``cfg.split_crs``, else the first source's (a UTM zone if it is geographic)."""
    missing = [s.path for s in sources if s.crs is None]
    if missing and needs_split:
        raise InputError(
            f"{missing[0]} has no CRS, so blocks in metres cannot be laid out for the spatial split; give it one "
            "(gdal_edit.py -a_srs EPSG:XXXX -a_ullr ...) or put every chip in one split with --split 1,0,0"
        )
    if missing:
        return SplitFrame(None, "px")
    if cfg.split_crs:
        try:
            crs = CRS.from_user_input(cfg.split_crs)
        except CRSError:
            raise ConfigError(f"split CRS {cfg.split_crs!r} is not a CRS; give one like EPSG:32633") from None
        if crs.is_geographic:
            raise ConfigError(f"split CRS {cfg.split_crs} is in degrees; blocks need a projected CRS in metres (e.g. a UTM zone)")
    else:
        crs = sources[0].crs
        if crs is None:  # not reached: sources without a CRS returned above
            return SplitFrame(None, "px")
        if crs.is_geographic:
            crs = _utm_for(sources[0])
            log.info("%s is geographic; spatial blocks are laid out in %s", sources[0].path, crs.to_string())
    unit = (crs.linear_units or "unit").replace("metre", "m").replace("meter", "m")
    return SplitFrame(crs, unit)


def _weights(cfg: DatasetConfig, sources: list[Source], windows: list[list[ChipWindow]]) -> dict[str, float]:
    """1 for windows whose decimated mask looks valid enough to be kept, else 0."""
    factor = max(1, cfg.size // 8)
    out: dict[str, float] = {}
    for src, wins in zip(sources, windows, strict=True):
        with SourceReader(src) as reader:
            overview = reader.valid_overview(factor)
        for cw in wins:
            frac = window_valid_fraction(overview, factor, cw.window)
            out[cw.id] = 1.0 if frac >= 1.0 - cfg.filters.max_nodata - 0.1 else 0.0
    return out


def _check_expected(expected: Counter[str | None], wanted: list[str], boxes: list[Box], block: float, unit: str,
                    strict: bool, auto: bool = False) -> None:
    """Refuse (``strict``) or warn about a wanted split that would receive no chip."""
    empty = [s for s in wanted if not expected[s]]
    log.info("split: blocks of %g %s; expected chips %s", block, unit, {k or "dropped at borders": v for k, v in expected.items()})
    if not empty:
        return
    if not strict:
        log.warning("the real photos give no %s chips; use more or larger photos", ", ".join(empty))
        return
    width = max(b[2] for b in boxes) - min(b[0] for b in boxes)
    height = max(b[3] for b in boxes) - min(b[1] for b in boxes)
    if auto:
        raise InputError(
            f"the area ({width:.0f} x {height:.0f} {unit}) is too small to give {', '.join(empty)} a chip with blocks of "
            f"{AUTO_BLOCK_WIDTHS[-1]} to {AUTO_BLOCK_WIDTHS[0]} chip widths; add area, lower --size, or change --split "
            "(1,0,0 puts all in train)"
        )
    raise InputError(
        f"blocks of {block:g} {unit} leave no chip for {', '.join(empty)} in an area of {width:.0f} x {height:.0f} {unit}; "
        "leave --block-size out (geocolor then picks one that works) or change --split (1,0,0 puts all in train)"
    )


def make_plan(cfg: DatasetConfig, sources: list[Source], strict: bool = True) -> Plan:
    """Windows and block split for ``sources``.

    ``strict`` (colour sources) raises ``InputError`` when a split with a non-zero fraction would get no
    chip; otherwise (real photos) it only warns, and splits in pixel units with small blocks.
    """
    windows = [list(chip_windows(src, i, cfg.size, cfg.chip_stride)) for i, src in enumerate(sources)]
    if not any(windows):
        sizes = ", ".join(f"{s.width} x {s.height}" for s in sources[:3])
        raise InputError(f"no {cfg.size} px chip fits in the source ({sizes} px); lower --size")
    fractions = cfg.fractions()
    wanted = [s for s in SPLITS if fractions[s] > 0]
    needs_split = len(wanted) > 1
    frame = split_frame(cfg, sources, needs_split) if strict else SplitFrame(None, "px")
    plan = Plan(sources, windows, frame, None, None if needs_split else wanted[0])
    if not needs_split:
        return plan
    boxes = {cw.id: plan.box_of(cw) for wins in windows for cw in wins}
    chip_width = statistics.median(b[2] - b[0] for b in boxes.values())
    weights = _weights(cfg, sources, windows)
    items = [(plan.namespace(sources[cw.source]), boxes[cw.id], weights[cw.id]) for wins in windows for cw in wins]

    def expected_for(block: float, gap: float) -> Counter[str | None]:
        plan.blocks = plan_blocks(items, block, gap, fractions, cfg.seed)
        return Counter(plan.split_of(cw) for wins in windows for cw in wins if weights[cw.id] > 0)

    if not strict:  # real photos: an unpaired domain without targets to leak; small blocks so small photos still split
        block, gap = 3 * chip_width, 0.0
    else:
        gap = cfg.split_gap if cfg.split_gap is not None else 0.5 * chip_width
        block = cfg.block_size or auto_block_size(lambda b: expected_for(b, gap), wanted, chip_width, frame.unit)
    expected = expected_for(block, gap)
    _check_expected(expected, wanted, list(boxes.values()), block, frame.unit, strict, auto=strict and not cfg.block_size)
    return plan


AUTO_BLOCK_WIDTHS = (10, 8, 6, 5, 4, 3, 2)  # chip widths tried, largest first (larger blocks: fewer chips lost at borders)


def auto_block_size(expected_for: Callable[[float], Counter[str | None]], wanted: list[str], chip_width: float,
                    unit: str) -> float:
    """The largest block (in chip widths, ``AUTO_BLOCK_WIDTHS``) that gives every wanted split a chip.

    Falls back to 10 chip widths when none does (the caller then says which split stays empty).
    """
    for n in AUTO_BLOCK_WIDTHS:
        expected = expected_for(n * chip_width)
        if all(expected[s] for s in wanted):
            if n != AUTO_BLOCK_WIDTHS[0]:
                log.warning("split: blocks of %g %s (%d chip widths) so that %s all get chips; set --block-size to choose",
                            n * chip_width, unit, n, ", ".join(wanted))
            return n * chip_width
    return AUTO_BLOCK_WIDTHS[0] * chip_width
