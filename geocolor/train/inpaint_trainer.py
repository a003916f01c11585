"""The training loop for inpainting: the colorization trainer with hole metrics and inpainting model files.

Everything the run folder holds (checkpoints, resume, ``losses.csv/png``, ``metrics.jsonl``, sample
grids, ``best.pt`` / ``last.pt``, export) comes from ``Trainer``; this subclass changes what is
measured on the held-out chips (PSNR / SSIM / L2 inside a centred hole of the configured size,
with scikit-image's biharmonic inpainting as the baseline, computed once), which model counts as
best (lowest hole L2), what a sample grid shows (holed input | filled | truth) and the metadata of
exported files (``task: inpaint``, ``channels``).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np

from geocolor.inpaint.evaluate import biharmonic, chips_to_images, network_filler, score
from geocolor.inpaint.masks import center_box
from geocolor.inpaint.model import TASK
from geocolor.train.reports import save_grid
from geocolor.train.trainer import Trainer

log = logging.getLogger(__name__)

MAX_EVAL_CHIPS = 24  # held-out chips scored during training (evenly picked); the eval script uses all


class InpaintTrainer(Trainer):
    """``Trainer`` for ``model.model: inpaint`` (see module docstring)."""

    _baseline: dict[str, float] | None = None

    def _eval_set(self) -> tuple[np.ndarray, np.ndarray]:
        chips = self.data.test_chips
        chips = chips[:: max(1, len(chips) // MAX_EVAL_CHIPS)][:MAX_EVAL_CHIPS]
        images = chips_to_images(chips, self.model.options.channels)
        ic = self.model.options
        hole = center_box(images.shape[1], images.shape[2], size=ic.center_size, fraction=ic.center_fraction)
        return images, np.repeat(hole[None], len(images), axis=0)

    def evaluate(self) -> dict[str, Any] | None:
        if not self.data.test_chips:
            return None
        images, holes = self._eval_set()
        metrics, filled, _ = score(network_filler(self.model.G, self.device), images, holes)
        if self._baseline is None:
            self._baseline = score(biharmonic, images, holes)[0]
        result = {"model": metrics, "biharmonic": self._baseline, "n_chips": len(images), "hole": "center"}
        with (self.dir / "metrics.jsonl").open("a") as f:
            f.write(json.dumps({"step": self.step, **result}) + "\n")
        picks = range(0, len(images), max(1, len(images) // 6))
        to8 = lambda a: np.round(np.clip(a, 0, 1) * 255).astype(np.uint8).squeeze(-1) if a.shape[-1] == 1 else np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)  # noqa: E731
        rows = [[to8(np.where(holes[i][..., None], 1.0, images[i])), to8(filled[i]), to8(images[i])] for i in list(picks)[:6]]
        save_grid(rows, self.dir / "samples" / f"step_{self.step:06d}.png")
        return result

    def _score_and_keep_best(self) -> dict[str, Any] | None:
        result = self.evaluate()
        if result is not None:
            m, b = result["model"], result["biharmonic"]
            log.info("step %d: hole PSNR %.2f dB SSIM %.3f (biharmonic %.2f dB, %.3f)",
                     self.step, m["psnr_hole"], m["ssim_hole"], b["psnr_hole"], b["ssim_hole"])
            self.model.on_evaluation(m["l2_hole"])
            if m["l2_hole"] < self.best:
                self.best, self.best_eval = m["l2_hole"], result
                self.export(self.dir / "best.pt", result)
        return result

    def metadata(self, evaluation: dict[str, Any] | None) -> dict[str, Any]:
        meta = super().metadata(evaluation)
        meta.pop("train_ab_mean", None)
        meta["training"].pop("lambda_l1", None)
        channels = self.model.options.channels
        meta.update(task=TASK, channels=channels, color_space="gray" if channels == 1 else "rgb")
        return meta
