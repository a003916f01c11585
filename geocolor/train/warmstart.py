"""Warm start: begin training from the generator weights of an existing geocolor model file.

``model.init_from: PATH`` loads the generator of a model file before the first step (a resumed run
keeps its checkpoint instead). The weights must fit the configured generator exactly (same network,
same width); a style-conditioned generator (stylecolor) also accepts a plain U-Net's weights, which
become its U-Net (its FiLM layers start at zero, so the first step's output is the plain model's).
The file is read with ``torch.load(weights_only=True)`` through ``read_model_file``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from geocolor.errors import ConfigError, ModelFileError


def warm_start(generator: nn.Module, path: str, task: str = "colorize") -> str:
    """Copy the generator weights of model file ``path`` into ``generator``; return what was loaded.

    Raises ``ConfigError`` (one line) when the file is unreadable, made for another ``task``
    (colorize / inpaint) or its weights do not fit.
    """
    from geocolor.models.io import read_model_file

    try:
        payload = read_model_file(path)
    except ModelFileError as e:
        raise ConfigError(f"model.init_from: {e}") from None
    file_task = payload["metadata"].get("task", "colorize")
    if file_task != task:
        raise ConfigError(f"model.init_from: {Path(path).name} is a {file_task} model; this run trains a {task} model")
    weights = {k: v.float() for k, v in payload["state_dict"].items()}
    target, part = generator, "generator"
    own = generator.state_dict()
    unet = getattr(generator, "unet", None)
    if not any(k in own for k in weights) and isinstance(unet, nn.Module):
        target, part = unet, "U-Net of the style generator"
    try:
        target.load_state_dict(_same_dtypes(weights, target.state_dict()), strict=True)
    except RuntimeError as e:
        arch = payload["metadata"].get("architecture", {})
        first = str(e).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else first[0]
        raise ConfigError(
            f"model.init_from: {Path(path).name} ({arch.get('generator')}, ngf {arch.get('ngf')}) does not fit the "
            f"configured generator: {detail[:200]}"
        ) from None
    return f"{part} from {Path(path).name}"


def _same_dtypes(weights: dict[str, torch.Tensor], like: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.to(like[k].dtype) if k in like else v for k, v in weights.items()}
