"""What training leaves for a person to look at: a loss CSV, loss-curve PNGs, sample grids and
(optionally) TensorBoard scalars."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import numpy as np

from geocolor.files import atomic_path

log = logging.getLogger(__name__)


def append_csv(path: Path, row: dict[str, float]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)


ADVERSARIAL = ("d_real", "d_fake", "g_gan", "d_a", "d_b", "g_gan_a", "g_gan_b", "d_vae", "d_lr", "g_gan_vae", "g_gan_lr")
NOT_LOSSES = ("step", "lr", "lr_d")
TITLES = {
    "g_l1": "generator L1 (x lambda)",
    "d_gp": "critic gradient penalty (x lambda)",
    "g_cycle_a": "cycle L1 gray->colour->gray (x lambda_a)",
    "g_cycle_b": "cycle L1 colour->gray->colour (x lambda_b)",
    "g_idt_a": "identity L1 of G_A (x lambda_b x lambda_identity)",
    "g_idt_b": "identity L1 of G_B (x lambda_a x lambda_identity)",
}


def loss_panels(columns: list[str]) -> list[tuple[str, list[str]]]:
    """Group a loss CSV's columns into plot panels: G vs D adversarial terms, then one per other loss."""
    adversarial = [c for c in ADVERSARIAL if c in columns]
    panels = [("adversarial losses", adversarial)] if adversarial else []
    others = [c for c in columns if c not in NOT_LOSSES and c not in ADVERSARIAL]
    return panels + [(TITLES.get(c, c), [c]) for c in others]


def plot_losses(csv_path: Path, png_path: Path) -> None:
    """One panel for the adversarial terms (G vs D), one per other loss, smoothed over ~2 % of the run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with csv_path.open() as f:
        rows = list(csv.DictReader(f))
    if len(rows) < 2:
        return
    step = np.array([float(r["step"]) for r in rows])
    k = max(1, len(rows) // 50)

    def smooth(key: str) -> np.ndarray:
        """Running mean over k points ("valid" part only, so the ends are not pulled toward 0)."""
        v = np.array([float(r[key]) for r in rows])
        return np.convolve(v, np.ones(k) / k, mode="valid")

    x = step[k - 1 :]
    panels = loss_panels(list(rows[0]))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
    for ax, (title, keys) in zip(axes[0], panels):
        for i, key in enumerate(keys):
            ax.plot(x, smooth(key), label=key, color=f"C{i if len(keys) > 1 else 3}")
        ax.set_title(title)
        if len(keys) > 1:
            ax.legend()
        ax.set_xlabel("step")
    fig.tight_layout()
    try:
        with atomic_path(png_path, suffix=".tmp.png") as tmp:
            fig.savefig(tmp, dpi=90)
    finally:
        plt.close(fig)


def save_grid(rows: list[list[np.ndarray]], path: Path, cell: int = 160) -> None:
    """Save rows of uint8 images (gray or RGB) as one PNG grid (e.g. input | output | truth)."""
    from PIL import Image

    ncol = max(len(r) for r in rows)
    grid = Image.new("RGB", (ncol * cell, len(rows) * cell), "white")
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            im = Image.fromarray(img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=-1))
            grid.paste(im.resize((cell, cell), Image.Resampling.BILINEAR), (j * cell, i * cell))
    with atomic_path(path, suffix=".tmp.png") as tmp:
        grid.save(tmp)


class ScalarLog:
    """TensorBoard scalars in ``folder`` when ``torch.utils.tensorboard`` imports; else one warning, then nothing.

    TensorBoard is not a geocolor dependency: ``losses.csv`` and ``metrics.jsonl`` hold the same figures.
    """

    def __init__(self, folder: Path) -> None:
        self.writer: Any = None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log.warning("tensorboard: true, but tensorboard is not installed (pip install tensorboard); "
                        "losses.csv and metrics.jsonl are written as always")
            return
        self.writer = SummaryWriter(str(folder))

    def add(self, group: str, values: dict[str, Any], step: int) -> None:
        if self.writer is None:
            return
        for key, value in values.items():
            if isinstance(value, (int, float)):
                self.writer.add_scalar(f"{group}/{key}", value, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
