"""Can gray alone tell near-neutral ground from coloured ground? A bound for adapt's false-colour target.

The false-colour rate counts the truth's near-neutral pixels (C*ab < 10) that an output paints with
C*ab > 20. To keep it under 3 %, a model must recognise 97 % of the neutral pixels from the gray scan and
leave them gray, and every coloured pixel it cannot tell from them goes gray too. This measures how
separable the two are from local gray statistics (L*, local mean and contrast at 4 scales, edge
energy at 2 scales; 1/4 resolution), with a non-parametric classifier (the neutral share in cells of a
quantile grid over the three most telling features), on the spatial case of ``adapt_transfer.py``
(Togo, gray film-like bottom half; truth in colour):

- *adapt's situation*: learnt on the top half (the modern imagery), judged on the bottom half;
- *a kinder one*: learnt and judged on the bottom half itself, on spatially separate 100 px blocks
  (4-fold, blocks shuffled);

and reports the AUC and the share of coloured pixels that must be called neutral to call 50 / 80 / 97 % of
the neutral ones neutral. It needs ``adapt_transfer.py --case spatial`` run first (its scan).

Usage: ``python benchmarks/neutral_separability.py [--bench runs/adapt_bench]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from adapt_transfer import film_gray, read  # noqa: E402

FACTOR = 4  # features on a 1/4 resolution grid
BINS = 12  # quantile bins per feature of the lookup classifier


def features(gray: np.ndarray) -> np.ndarray:
    """Per-pixel gray statistics (H, W, F) of a gray image (float)."""
    from scipy import ndimage

    feats = [gray]
    for r in (1, 3, 9, 27):
        m = ndimage.uniform_filter(gray, 2 * r + 1)
        m2 = ndimage.uniform_filter(gray * gray, 2 * r + 1)
        feats += [m, np.sqrt(np.maximum(m2 - m * m, 0.0))]
    edges = np.hypot(ndimage.sobel(gray, 0), ndimage.sobel(gray, 1))
    feats += [ndimage.uniform_filter(edges, 2 * r + 1) for r in (3, 9)]
    return np.stack(feats, axis=-1)


def pooled(gray: np.ndarray, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, neutral labels and (row, col) of the valid cells of the 1/4 grid."""
    from geocolor.metrics.chroma import chroma

    h, w = (gray.shape[0] // FACTOR) * FACTOR, (gray.shape[1] // FACTOR) * FACTOR

    def down(a: np.ndarray) -> np.ndarray:
        return a[:h, :w].reshape(h // FACTOR, FACTOR, w // FACTOR, FACTOR).mean(axis=(1, 3))

    g = down(gray.astype(np.float64))
    c = down(chroma(rgb[:h, :w]))
    valid = down((rgb[:h, :w].max(axis=-1) > 0).astype(np.float64)) == 1.0
    valid &= down((gray[:h, :w] > 0).astype(np.float64)) == 1.0
    rows, cols = np.nonzero(valid)
    return features(g)[valid], c[valid] < 10, np.stack([rows, cols], axis=1)


def auc(score: np.ndarray, label: np.ndarray) -> float:
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)
    pos = label.sum()
    return float((ranks[label].sum() - pos * (pos + 1) / 2) / max(pos * (len(label) - pos), 1))


def pick_features(x: np.ndarray, y: np.ndarray, n: int = 3) -> list[int]:
    """The ``n`` features whose own AUC is furthest from 0.5."""
    strength = [abs(auc(x[:, j], y) - 0.5) for j in range(x.shape[1])]
    return list(np.argsort(strength)[::-1][:n])


class CellClassifier:
    """P(neutral) as the smoothed neutral share of a quantile-grid cell over a few features."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> CellClassifier:
        self.cols = pick_features(x, y)
        self.edges = [np.quantile(x[:, j], np.linspace(0, 1, BINS + 1)[1:-1]) for j in self.cols]
        cell = self._cells(x)
        n = np.bincount(cell, minlength=BINS ** len(self.cols)).astype(float)
        k = np.bincount(cell, weights=y.astype(float), minlength=BINS ** len(self.cols))
        prior = y.mean()
        self.p = (k + 5 * prior) / (n + 5)
        return self

    def _cells(self, x: np.ndarray) -> np.ndarray:
        cell = np.zeros(len(x), dtype=np.int64)
        for j, e in zip(self.cols, self.edges):
            cell = cell * BINS + np.searchsorted(e, x[:, j])
        return cell

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.p[self._cells(x)]


def grayed_colour(score: np.ndarray, label: np.ndarray) -> dict[str, float]:
    """Share of coloured pixels called neutral when 50 / 80 / 97 % of the neutral ones are."""
    out = {}
    for recall in (0.5, 0.8, 0.97):
        t = np.quantile(score[label], 1 - recall)
        out[f"{int(recall * 100)}%"] = float((score[~label] >= t).mean())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", default=str(REPO / "runs" / "adapt_bench"))
    args = ap.parse_args()
    from geocolor.quality.catalog import load_catalog

    catalog = load_catalog(REPO / "pipelines" / "quality" / "catalog.yaml", root=str(REPO.parent / "shared" / "data"))
    full = read(Path(next(s for s in catalog.sources if s.name == "ortho_togo").files[0]))
    top, bottom = full[: full.shape[0] // 2], full[full.shape[0] // 2 :]
    scan_path = Path(args.bench) / "spatial" / "scan.tif"
    if not scan_path.exists():
        sys.exit(f"{scan_path} not found: run benchmarks/adapt_transfer.py --case spatial first")
    import rasterio

    with rasterio.open(scan_path) as ds:
        scan = ds.read(1)
    n = min(len(scan), len(bottom))
    xb, yb, where = pooled(scan[:n], bottom[:n])
    xt, yt, _ = pooled(film_gray(top), top)
    print(f"near-neutral share: top half {yt.mean():.1%}, bottom half {yb.mean():.1%}")

    transfer = CellClassifier().fit(xt, yt).predict(xb)
    print(f"learnt on the top half, judged on the bottom: AUC {auc(transfer, yb):.2f}; coloured pixels grayed at "
          + ", ".join(f"{k} neutral recall: {v:.0%}" for k, v in grayed_colour(transfer, yb).items()))

    blocks = (where[:, 0] // 100) * 10_000 + where[:, 1] // 100
    ids = np.unique(blocks)
    np.random.default_rng(0).shuffle(ids)
    fold = dict(zip(ids.tolist(), np.arange(len(ids)) % 4))
    f = np.array([fold[b] for b in blocks.tolist()])
    score = np.zeros(len(yb))
    for k in range(4):
        score[f == k] = CellClassifier().fit(xb[f != k], yb[f != k]).predict(xb[f == k])
    print(f"learnt on the bottom half itself (blocked 4-fold): AUC {auc(score, yb):.2f}; coloured pixels grayed at "
          + ", ".join(f"{k} neutral recall: {v:.0%}" for k, v in grayed_colour(score, yb).items()))


if __name__ == "__main__":
    main()
