"""Feature metrics (FID, IS, LPIPS) whose network weights are found on disk, never downloaded.

The weights are looked for, in order, in ``--weights-dir``, ``$GEOCOLOR_WEIGHTS_DIR`` and the torch
hub cache (``torch.hub.get_dir()/checkpoints``). FID and IS use the TorchScript Inception-v3 that
NVIDIA publishes for its GAN metrics (``inception-2015-12-05.pt``, the TF-FID network): it loads with
``torch.jit.load`` alone, so no Inception code is written here and no torchvision is needed. LPIPS
needs the ``lpips`` package (which pulls torchvision, which does not import beside this torch).

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

from geocolor.metrics.frechet import frechet_from_features, inception_score

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


def _where(weights_dir: str | os.PathLike[str] | None) -> str:
    return ", ".join(str(d) for d in weight_dirs(weights_dir))


def inception_extractor(path: Path, device: str = "cpu", batch: int = 16) -> FeatureExtractor:
    """The TorchScript Inception-v3 at ``path``: 2048 pool features (FID) and class probabilities (IS)."""
    import torch

    with warnings.catch_warnings():  # TorchScript is deprecated in torch 2.13 but still loads these files
        warnings.simplefilter("ignore", DeprecationWarning)
        net = torch.jit.load(str(path), map_location=device).eval()

    def run(images: list[np.ndarray], **kwargs: Any) -> np.ndarray:
        out = []
        for i in range(0, len(images), batch):
            x = torch.from_numpy(np.stack(images[i : i + batch]).transpose(0, 3, 1, 2).copy()).to(device)
            with torch.inference_mode():
                out.append(net(x, **kwargs).float().cpu().numpy())
        return np.concatenate(out)

    return FeatureExtractor("inception-v3 (" + path.name + ")", lambda ims: run(ims, return_features=True),
                            lambda ims: run(ims, no_output_bias=True))


def default_extractor(weights_dir: str | os.PathLike[str] | None = None) -> tuple[FeatureExtractor | None, str]:
    """The Inception extractor if its weights are on disk, else None and why not."""
    path = find_weights(INCEPTION_FILES, weights_dir)
    if path is None:
        return None, f"no Inception-v3 weights ({' or '.join(INCEPTION_FILES)}) in {_where(weights_dir)}"
    try:
        return inception_extractor(path), ""
    except (RuntimeError, ValueError, OSError) as e:
        return None, f"Inception-v3 weights at {path} did not load: {str(e).splitlines()[0][:160]}"


def lpips_status(weights_dir: str | os.PathLike[str] | None = None) -> str:
    """Why LPIPS is not computed (it is never computed yet: see the module docstring)."""
    try:
        import lpips  # noqa: F401
    except ImportError:
        return "skipped: the lpips package is not installed (it needs torchvision, which does not import beside this torch)"
    return f"skipped: lpips is installed but geocolor does not drive it yet (AlexNet weights looked for in {_where(weights_dir)})"


def distribution_metrics(
    outputs: dict[str, list[np.ndarray]],
    reference: list[np.ndarray],
    extractor: FeatureExtractor | None,
    reason: str = "",
) -> dict[str, dict[str, Any]]:
    """FID of each method's outputs against ``reference`` images, and each method's IS.

    Every entry has a ``status`` ("ok" or "skipped: ...") and ``values`` per method.
    """
    if extractor is None:
        why = f"skipped: {reason or 'no feature network'}"
        return {"fid": {"status": why, "values": {}}, "is": {"status": why, "values": {}}}
    if len(reference) < 2:
        why = "skipped: FID needs at least 2 reference images"
        return {"fid": {"status": why, "values": {}}, "is": {"status": why, "values": {}}}
    ref = extractor.features(reference)
    fid = {name: frechet_from_features(extractor.features(imgs), ref) for name, imgs in outputs.items()}
    result: dict[str, dict[str, Any]] = {"fid": {"status": "ok", "network": extractor.name, "values": fid}}
    if extractor.probs is None:
        result["is"] = {"status": f"skipped: {extractor.name} gives no class probabilities", "values": {}}
    else:
        scores = {name: inception_score(extractor.probs(imgs))[0] for name, imgs in outputs.items()}
        result["is"] = {"status": "ok", "network": extractor.name, "values": scores}
    if len(reference) < 50:
        log.warning("FID on %d images is dominated by estimation bias; compare models on the same set only", len(reference))
    return result
