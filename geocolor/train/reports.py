"""What training leaves for a person to look at: a loss CSV, loss-curve PNGs and sample grids."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def append_csv(path: Path, row: dict[str, float]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)


def plot_losses(csv_path: Path, png_path: Path) -> None:
    """One panel for the adversarial terms (G vs D), one for L1, smoothed over ~2 % of the run."""
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
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for key in ("d_real", "d_fake", "g_gan"):
        axes[0].plot(x, smooth(key), label=key)
    axes[0].set_title("adversarial losses")
    axes[0].legend()
    axes[1].plot(x, smooth("g_l1"), color="C3")
    axes[1].set_title("generator L1 (x lambda)")
    for ax in axes:
        ax.set_xlabel("step")
    fig.tight_layout()
    tmp = png_path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(png_path)


def save_grid(rows: list[list[np.ndarray]], path: Path, cell: int = 160) -> None:
    """Save rows of uint8 images (gray or RGB) as one PNG grid (e.g. input | output | truth)."""
    from PIL import Image

    ncol = max(len(r) for r in rows)
    grid = Image.new("RGB", (ncol * cell, len(rows) * cell), "white")
    for i, row in enumerate(rows):
        for j, img in enumerate(row):
            im = Image.fromarray(img if img.ndim == 3 else np.repeat(img[..., None], 3, axis=-1))
            grid.paste(im.resize((cell, cell), Image.Resampling.BILINEAR), (j * cell, i * cell))
    tmp = path.with_suffix(".tmp.png")
    grid.save(tmp)
    tmp.replace(path)
