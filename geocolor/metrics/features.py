"""Feature metrics (FID, IS, LPIPS) whose network weights are found on disk, never downloaded.

The weights are looked for, in order, in ``--weights-dir``, ``$GEOCOLOR_WEIGHTS_DIR`` and the torch
hub cache (``torch.hub.get_dir()/checkpoints``). FID and IS use the TorchScript Inception-v3 that
NVIDIA publishes for its GAN metrics (``inception-2015-12-05.pt``, the TF-FID network): it loads with
``torch.jit.load`` alone, so no Inception code is written here and no torchvision is needed. LPIPS
is in ``geocolor.metrics.lpips`` (its weights are found the same way). FID, IS and KID formulas are
in ``frechet`` and are checked against torchmetrics' on the same features.

Whatever is missing, the metric's entry says ``"skipped: <why>"`` instead of failing the evaluation.
A test (or a caller with another network) can inject its own ``FeatureExtractor``.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from geocolor.metrics.frechet import frechet_from_features, inception_score, kernel_inception_distance

log = logging.getLogger(__name__)

WEIGHTS_ENV = "GEOCOLOR_WEIGHTS_DIR"
INCEPTION_FILES = ("inception-2015-12-05.pt",)


@dataclass
class FeatureExtractor:
    """Images in, features out. ``probs`` (class probabilities, for IS) is optional."""

    name: str
    features: Callable[[list[np.ndarray]], np.ndarray]
    probs: Callable[[list[np.ndarray]], np.ndarray] | None = None


def weight_dirs(weights_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Where weights are looked for: the explicit folder, the environment variable, the torch cache."""
    dirs = [Path(d) for d in (weights_dir, os.environ.get(WEIGHTS_ENV)) if d]
    try:
        import torch

        dirs.append(Path(torch.hub.get_dir()) / "checkpoints")
    except (ImportError, RuntimeError):  # pragma: no cover - torch is a dependency
        pass
    return dirs


def find_weights(names: Sequence[str], weights_dir: str | os.PathLike[str] | None = None) -> Path | None:
    for folder in weight_dirs(weights_dir):
        for name in names:
            if (folder / name).is_file():
                return folder / name
    return None


def searched_dirs(weights_dir: str | os.PathLike[str] | None) -> str:
    """The folders searched for weights, for a "skipped: ..." message."""
    return ", ".join(str(d) for d in weight_dirs(weights_dir))


def same_shape_batches(images: Sequence[np.ndarray], batch: int) -> list[list[np.ndarray]]:
    """Consecutive runs of equal-shape images, at most ``batch`` long (plain image folders vary in size)."""
    groups: list[list[np.ndarray]] = []
    for img in images:
        if groups and len(groups[-1]) < batch and groups[-1][0].shape == img.shape:
            groups[-1].append(img)
        else:
            groups.append([img])
    return groups


def inception_extractor(path: Path, device: str = "cpu", batch: int = 16) -> FeatureExtractor:
    """The TorchScript Inception-v3 at ``path``: 2048 pool features (FID) and class probabilities (IS)."""
    import torch

    with warnings.catch_warnings():  # TorchScript is deprecated in torch 2.13 but still loads these files
        warnings.simplefilter("ignore", DeprecationWarning)
        net = torch.jit.load(str(path), map_location=device).eval()

    def run(images: list[np.ndarray], **kwargs: Any) -> np.ndarray:
        out = []
        for group in same_shape_batches(images, batch):
            x = torch.from_numpy(np.stack(group).transpose(0, 3, 1, 2).copy()).to(device)
            with torch.inference_mode():
                out.append(net(x, **kwargs).float().cpu().numpy())
        return np.concatenate(out)

    return FeatureExtractor("inception-v3 (" + path.name + ")", lambda ims: run(ims, return_features=True),
                            lambda ims: run(ims, no_output_bias=True))


def default_extractor(weights_dir: str | os.PathLike[str] | None = None) -> tuple[FeatureExtractor | None, str]:
    """The Inception extractor if its weights are on disk, else None and why not."""
    path = find_weights(INCEPTION_FILES, weights_dir)
    if path is None:
        return None, f"no Inception-v3 weights ({' or '.join(INCEPTION_FILES)}) in {searched_dirs(weights_dir)}"
    try:
        return inception_extractor(path), ""
    except (RuntimeError, ValueError, OSError) as e:
        return None, f"Inception-v3 weights at {path} did not load: {str(e).splitlines()[0][:160]}"


def distribution_metrics(
    outputs: dict[str, list[np.ndarray]],
    reference: list[np.ndarray],
    extractor: FeatureExtractor | None,
    reason: str = "",
) -> dict[str, dict[str, Any]]:
    """FID and KID of each method's outputs against ``reference`` images, and each method's IS.

    Every entry has a ``status`` ("ok" or "skipped: ...") and ``values`` per method.
    """
    if extractor is None or len(reference) < 2:
        why = f"skipped: {reason or 'no feature network'}" if extractor is None else "skipped: FID needs at least 2 reference images"
        return {key: {"status": why, "values": {}} for key in ("fid", "kid", "is")}
    ref = extractor.features(reference)
    feats = {name: extractor.features(imgs) for name, imgs in outputs.items() if len(imgs) >= 2}
    fid = {name: frechet_from_features(f, ref) for name, f in feats.items()}
    kid = {name: kernel_inception_distance(f, ref)[0] for name, f in feats.items()}
    result: dict[str, dict[str, Any]] = {"fid": {"status": "ok", "network": extractor.name, "values": fid},
                                         "kid": {"status": "ok", "network": extractor.name, "values": kid}}
    if extractor.probs is None:
        result["is"] = {"status": f"skipped: {extractor.name} gives no class probabilities", "values": {}}
    else:
        scores = {name: inception_score(extractor.probs(imgs))[0] for name, imgs in outputs.items()}
        result["is"] = {"status": "ok", "network": extractor.name, "values": scores}
    if len(reference) < 50:
        log.warning("FID on %d images is dominated by estimation bias; compare models on the same set only", len(reference))
    return result
