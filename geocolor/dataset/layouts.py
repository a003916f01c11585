"""Where chips go on disk (the three layouts) and the manifest that lists them.

Under the dataset folder OUT:

- ``paired/{train,val,test}/<id>.png``: pix2pix convention, one RGB image 2W x H with A (the degraded
  gray input, repeated in three channels) on the left and B (the clean colour target) on the right.
- ``unpaired/{train,val,test}{A,B}/<id>.png``: CycleGAN/CUT convention; A is gray (one channel),
  B is colour. Real historical photos given with ``--unpaired-a`` appear only in the A folders.
- ``chips/color/<id>.png`` and ``chips/gray/<id>.png`` (``chips/real_a/<id>.png`` for real photos):
  one file per chip, found through ``manifest.csv``.

``manifest.csv`` has one row per kept chip: id, split, domain (``paired`` for colour chips with a
synthetic gray input, ``real_a`` for real historical photos), source file, CRS, bounds in that CRS,
the source window (row/col offset, size), resolution and chip statistics. Every file is written
atomically, so a chip either exists whole or not at all.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from geocolor.dataset.io import read_png, write_png, write_text
from geocolor.errors import InputError
from geocolor.types import PathLike

MANIFEST = "manifest.csv"
MANIFEST_FIELDS = [
    "id", "split", "domain", "source", "crs", "left", "bottom", "right", "top",
    "row_off", "col_off", "height", "width", "res_x", "res_y",
    "valid_frac", "mean_r", "mean_g", "mean_b", "gray_mean", "gray_std", "white_frac", "dhash",
]
_FLOAT_FIELDS = {"left", "bottom", "right", "top", "res_x", "res_y", "valid_frac", "mean_r", "mean_g", "mean_b",
                 "gray_mean", "gray_std", "white_frac"}
_INT_FIELDS = {"row_off", "col_off", "height", "width"}


def chip_files(layout: str, split: str, chip_id: str, domain: str = "paired") -> dict[str, str]:
    """Relative paths of one chip's files in one layout, keyed by role (``ab``, ``gray``, ``color``)."""
    if domain == "real_a":
        return {"unpaired": {"gray": f"unpaired/{split}A/{chip_id}.png"},
                "manifest": {"gray": f"chips/real_a/{chip_id}.png"}}.get(layout, {})
    if layout == "paired":
        return {"ab": f"paired/{split}/{chip_id}.png"}
    if layout == "unpaired":
        return {"gray": f"unpaired/{split}A/{chip_id}.png", "color": f"unpaired/{split}B/{chip_id}.png"}
    if layout == "manifest":
        return {"gray": f"chips/gray/{chip_id}.png", "color": f"chips/color/{chip_id}.png"}
    raise ValueError(f"unknown layout {layout!r}")


def chip_targets(layouts: list[str], split: str, chip_id: str, domain: str = "paired",
                 unpaired_a_only: bool = False) -> list[tuple[str, str]]:
    """(role, relative path) of every file a chip has in the chosen layouts.

    With ``unpaired_a_only`` the synthetic gray of colour chips stays out of the unpaired A folders.
    """
    targets = []
    for layout in layouts:
        for role, rel in chip_files(layout, split, chip_id, domain).items():
            if not (unpaired_a_only and domain == "paired" and layout == "unpaired" and role == "gray"):
                targets.append((role, rel))
    return targets


def write_chip(root: Path, layouts: list[str], split: str, chip_id: str, gray: np.ndarray,
               color: np.ndarray | None, unpaired_a_only: bool = False) -> None:
    """Write one chip in every chosen layout; ``color`` is None for real (domain A) photos."""
    domain = "paired" if color is not None else "real_a"
    for role, rel in chip_targets(layouts, split, chip_id, domain, unpaired_a_only):
        if role == "ab" and color is not None:
            write_png(root / rel, np.concatenate([np.repeat(gray[..., None], 3, axis=-1), color], axis=1))
        elif role == "gray":
            write_png(root / rel, gray)
        elif color is not None:
            write_png(root / rel, color)


def split_ab(ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A paired AB image (H x 2W x 3) -> (gray A as H x W, colour B as H x W x 3)."""
    w = ab.shape[1] // 2
    return np.ascontiguousarray(ab[:, :w, 0]), np.ascontiguousarray(ab[:, w:])


def read_chip(root: Path, layout: str, split: str, chip_id: str) -> tuple[np.ndarray, np.ndarray]:
    """(gray, colour) of a paired chip from one layout."""
    files = chip_files(layout, split, chip_id)
    if layout == "paired":
        return split_ab(read_png(root / files["ab"], "RGB"))
    return read_png(root / files["gray"], "L"), read_png(root / files["color"], "RGB")


def _format(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(round(value, 6)) if abs(value) < 1e6 else f"{value:.4f}"
    return str(value)


def write_manifest(root: Path, records: list[dict[str, Any]]) -> Path:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=MANIFEST_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for rec in records:
        writer.writerow({k: _format(rec.get(k)) for k in MANIFEST_FIELDS})
    write_text(root / MANIFEST, buf.getvalue())
    return root / MANIFEST


def _parse(key: str, value: str) -> Any:
    if value == "":
        return None
    if key in _FLOAT_FIELDS:
        return float(value)
    if key in _INT_FIELDS:
        return int(value)
    return value


def read_manifest(root: PathLike) -> list[dict[str, Any]]:
    """The manifest rows with numbers parsed (empty cells become None)."""
    path = Path(root) / MANIFEST
    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for n, row in enumerate(csv.DictReader(f), start=2):
                if None in row or None in row.values():  # a short or long row: cut off, or not ours
                    given = sum(v is not None for k, v in row.items() if k is not None)
                    raise InputError(f"{path} is damaged (line {n} has {given} of {len(MANIFEST_FIELDS)} fields); "
                                     "rebuild the dataset with geocolor dataset ... --overwrite")
                rows.append({k: _parse(k, v) for k, v in row.items()})
    except FileNotFoundError:
        raise InputError(f"{path} is missing: {root} is not a finished geocolor dataset (run geocolor dataset)") from None
    except InputError:
        raise
    except (ValueError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{path} is damaged ({str(e)[:100]}); rebuild the dataset with geocolor dataset ... --overwrite") from None
    return rows
