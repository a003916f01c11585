"""Read a built dataset back for training: paired chips (gray input + colour target) and unpaired domains.

``PairedChips(root, split)`` lists the colour chips of one split from ``manifest.csv`` and reads them
from whichever layout is on disk (``manifest`` chips, else ``paired`` AB images, else the unpaired
A/B folders, which hold the same ids). Each item is a ``Chip``: uint8 colour ``H x W x 3``, the
(degraded) gray input ``H x W``, and the manifest record with CRS and bounds. ``sample_batch`` draws
random, augmented batches as the trainer wants them, from a generator whose state can be saved.

``UnpairedImages(root, split, domain)`` lists the files of ``unpaired/{split}{A|B}`` (real historical
photos included in A) for CycleGAN/CUT-style training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

from geocolor.dataset.config import SPLITS
from geocolor.dataset.io import read_png
from geocolor.dataset.layouts import chip_files, read_chip, read_manifest
from geocolor.errors import InputError
from geocolor.types import PathLike


def turn_and_flip(rng: np.random.Generator, *images: np.ndarray) -> list[np.ndarray]:
    """The same random 90-degree turn and (half the time) left-right flip applied to each image (H, W, ...)."""
    turns, flip = int(rng.integers(4)), bool(rng.random() < 0.5)
    out = [np.rot90(im, turns) for im in images]
    return [im[:, ::-1] for im in out] if flip else out


@dataclass
class Chip:
    """One training pair: the gray input, the colour target, and where it lies."""

    id: str
    split: str
    gray: np.ndarray  # H x W uint8 (degraded when the dataset was built with --degrade film)
    color: np.ndarray  # H x W x 3 uint8
    record: dict[str, Any]


def _detect_layout(root: Path, records: list[dict[str, Any]]) -> str:
    if not records:
        return "manifest"
    first = records[0]
    for layout in ("manifest", "paired", "unpaired"):
        if all((root / rel).is_file() for rel in chip_files(layout, first["split"], first["id"]).values()):
            return layout
    raise InputError(f"{root}: chip {first['id']} is in no layout on disk; re-run geocolor dataset to rebuild it")


class PairedChips(Sequence[Chip]):
    """Colour chips of one split (``split=None``: all splits) with their gray inputs."""

    def __init__(self, root: PathLike, split: str | None = "train", layout: str = "auto", seed: int = 0) -> None:
        if split is not None and split not in SPLITS:
            raise InputError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        self.root = Path(root)
        self.split = split
        self.records = [r for r in read_manifest(self.root) if r["domain"] == "paired" and split in (None, r["split"])]
        self.layout = _detect_layout(self.root, self.records) if layout == "auto" else layout
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.records)

    @overload
    def __getitem__(self, index: int) -> Chip: ...

    @overload
    def __getitem__(self, index: slice) -> list[Chip]: ...

    def __getitem__(self, index: int | slice) -> Chip | list[Chip]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        rec = self.records[index]
        gray, color = read_chip(self.root, self.layout, rec["split"], rec["id"])
        return Chip(rec["id"], rec["split"], gray, color, rec)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All chips as (gray N x H x W, colour N x H x W x 3) uint8 arrays (small splits only)."""
        chips = [self[i] for i in range(len(self))]
        if not chips:
            raise InputError(f"{self.root} has no {self.split or ''} chips")
        return np.stack([c.gray for c in chips]), np.stack([c.color for c in chips])

    def sample_batch(self, batch_size: int, augment: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Random chips as (gray B x H x W, colour B x H x W x 3); flips and 90-degree turns when ``augment``."""
        if not len(self):
            raise InputError(f"{self.root} has no {self.split or ''} chips to sample")
        grays, colors = [], []
        for k in self.rng.integers(0, len(self), size=batch_size):
            chip = self[int(k)]
            gray, color = chip.gray, chip.color
            if augment:
                gray, color = turn_and_flip(self.rng, gray, color)
            grays.append(gray)
            colors.append(color)
        return np.stack(grays), np.stack(colors)

    def rng_state(self) -> dict[str, Any]:
        return dict(self.rng.bit_generator.state)

    def set_rng_state(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state


class UnpairedImages(Sequence[np.ndarray]):
    """The images of ``unpaired/{split}{domain}``: gray ``H x W`` for A, colour ``H x W x 3`` for B."""

    def __init__(self, root: PathLike, split: str = "train", domain: str = "A") -> None:
        if domain not in ("A", "B") or split not in SPLITS:
            raise InputError(f"domain must be A or B and split one of {', '.join(SPLITS)}, got {domain!r}, {split!r}")
        self.folder = Path(root) / "unpaired" / f"{split}{domain}"
        if not self.folder.is_dir():
            raise InputError(f"{self.folder} is missing; build the dataset with the unpaired layout")
        self.files = sorted(self.folder.glob("*.png"))
        self.mode = "L" if domain == "A" else "RGB"

    def __len__(self) -> int:
        return len(self.files)

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, index: slice) -> list[np.ndarray]: ...

    def __getitem__(self, index: int | slice) -> np.ndarray | list[np.ndarray]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return read_png(self.files[index], self.mode)
