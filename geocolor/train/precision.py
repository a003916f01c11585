"""How a training step runs: mixed precision, memory layout, torch.compile and DDP wrapping.

``performance:`` in a config (``PerformanceConfig``) chooses:

- ``amp: off | bf16 | fp16``. ``bf16`` autocasts the forward passes to bfloat16 (CUDA, or CPU
  autocast: it trains on any CPU, and is faster only on CPUs with native bf16 such as AVX512-BF16 /
  AMX). ``fp16`` autocasts to float16 with a ``GradScaler`` (its state goes into the checkpoint);
  it needs CUDA: on CPU it is refused with a ``ConfigError`` (CPU float16 kernels are slow and
  partial; use ``bf16`` there).
- ``channels_last``: networks (and the trainer's batches) in NHWC layout.
- ``compile``: ``torch.compile`` the views used for training (opt-in; the first steps are slow
  while it compiles). Exports and evaluation use the plain module, so model files never hold
  compiled (``_orig_mod.``) or DDP (``module.``) key names.
- ``sync_bn``: under torchrun on several CUDA processes, batch norm over all ranks' batches.

How a model adopts it (pix2pix and cyclegan do; a new model in ``MODELS`` does the same):

1. ``self.precision = Precision.for_config(cfg, device)``.
2. Each network: ``net = prepare(build(...).to(device), cfg, device)``; keep ``net.module`` for
   optimisers, ``state_dict``, ``.G`` and export; call ``net.train`` for forward passes whose
   gradients update that network (DDP-wrapped and compiled as configured) and ``net.frozen`` for
   forward passes through a network that is not being updated in that step (a discriminator
   during the generator update): no DDP there, because DDP expects a gradient for every one of
   its parameters after each of its forwards.
3. Forward passes inside ``with self.precision.autocast():``; losses on ``.float()`` outputs;
   ``self.precision.backward(loss)`` and ``self.precision.step(optimizer)`` instead of
   ``loss.backward()`` / ``optimizer.step()``; ``self.precision.update()`` once at the end of
   ``train_step``. A gradient penalty (``torch.autograd.grad``) runs outside autocast on the plain
   module, in float32.
"""

from __future__ import annotations

import contextlib
import logging
import typing
from typing import Any, NamedTuple

import torch
from torch import nn

from geocolor.errors import ConfigError
from geocolor.train import distributed
from geocolor.train.config import TrainConfig

log = logging.getLogger(__name__)

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    """Autocast and (for fp16) gradient scaling around a model's forward passes and optimiser steps."""

    def __init__(self, amp: str = "off", device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        if amp not in ("off", *AMP_DTYPES):
            raise ConfigError(f"unknown performance.amp {amp!r}; choose one of off, {', '.join(AMP_DTYPES)}")
        if amp == "fp16" and self.device.type != "cuda":
            raise ConfigError("performance.amp fp16 needs a CUDA GPU; on CPU use amp: bf16 (or off)")
        self.amp = amp
        self.dtype = AMP_DTYPES.get(amp)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=amp == "fp16")

    @classmethod
    def for_config(cls, cfg: TrainConfig, device: torch.device) -> Precision:
        return cls(cfg.performance.amp, device)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        self.scaler.scale(loss).backward()

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Step the optimiser (skipped by the scaler when fp16 gradients overflowed)."""
        self.scaler.step(optimizer)

    def update(self) -> None:
        """Once per training step, after every optimiser step: adapt the fp16 loss scale."""
        self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        return {"amp": self.amp, "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("amp", self.amp) != self.amp:
            log.warning("the checkpoint was trained with amp %s, this run uses %s", state["amp"], self.amp)
        if state.get("scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(state["scaler"])


class Prepared(NamedTuple):
    """One network in three views: ``module`` (plain), ``train`` (DDP/compiled), ``frozen`` (compiled)."""

    module: nn.Module
    train: nn.Module
    frozen: nn.Module


def prepare(net: nn.Module, cfg: TrainConfig, device: torch.device) -> Prepared:
    """Apply ``cfg.performance`` to a network already on ``device`` (see the module docstring)."""
    perf = cfg.performance
    rank = distributed.current()
    if perf.sync_bn and rank.distributed:
        if device.type != "cuda":
            raise ConfigError("performance.sync_bn needs CUDA processes (nccl); set sync_bn: false on CPU")
        net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    if perf.channels_last:
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # missing from torch's stubs
    train: nn.Module = net
    if rank.distributed:
        ids = [device.index] if device.type == "cuda" else None
        train = nn.parallel.DistributedDataParallel(net, device_ids=ids)
    frozen: nn.Module = net
    if perf.compile:
        train, frozen = typing.cast(nn.Module, torch.compile(train)), typing.cast(nn.Module, torch.compile(net))
    return Prepared(net, train, frozen)


def to_layout(x: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    """A batch in the configured memory layout."""
    return x.contiguous(memory_format=torch.channels_last) if cfg.performance.channels_last else x
