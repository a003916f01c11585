"""Learning-rate policies, as torch schedulers built from ``OptimConfig``.

Per-step policies (``train_step`` steps them once per optimisation step), as a factor of the base lr:

- ``constant``: 1.
- ``linear``: 1 for the first ``decay_start`` fraction of the run, then linearly down to 0 at the end.
- ``step``: ``gamma ** (step // step_size)`` (``step_size`` 0: a quarter of the run).
- ``cosine``: half a cosine from 1 at step 0 down to 0 at the last step.

``plateau`` is stepped by the trainer's held-out evaluation instead (``step_on_metric``): the lr is
multiplied by ``plateau_factor`` once the held-out CIEDE2000 has not improved for
``plateau_patience`` evaluations. The generator and discriminator each get their own scheduler over
their own base lr (``optim.lr`` and ``optim.lr_d``, two time-scale update rule).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from geocolor.errors import ConfigError
from geocolor.train.config import LR_POLICIES, TrainConfig

LrFactor = Callable[[int], float]


def lr_lambda(cfg: TrainConfig) -> LrFactor:
    """The lr factor at each step for the per-step policies."""
    steps, o = cfg.steps, cfg.optim
    if o.policy in ("constant", "plateau"):
        return lambda step: 1.0
    if o.policy == "linear":
        start = int(steps * o.decay_start)
        return lambda step: 1.0 if step < start else max(0.0, 1.0 - (step - start) / max(1, steps - start))
    if o.policy == "step":
        size = o.step_size or max(1, steps // 4)
        return lambda step: o.gamma ** (step // size)
    if o.policy == "cosine":
        return lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, steps) / steps))
    raise ConfigError(f"unknown lr policy {o.policy!r}; choose one of {', '.join(LR_POLICIES)}")


def make_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig) -> Any:
    """A ``ReduceLROnPlateau`` for ``plateau``, else a ``LambdaLR`` over ``lr_lambda``."""
    if cfg.optim.policy == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=cfg.optim.plateau_factor, patience=cfg.optim.plateau_patience
        )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg))


def steps_per_iteration(scheduler: Any) -> bool:
    """Whether the scheduler is stepped after each training step (all but plateau)."""
    return not isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    return float(optimizer.param_groups[0]["lr"])
