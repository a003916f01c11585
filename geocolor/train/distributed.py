"""Multi-process training under ``torchrun``: process group from the environment, rank helpers.

``torchrun --nproc_per_node N -m geocolor.cli train --config x.yaml`` starts N copies of the trainer
with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` set. ``setup``
joins them into one process group (``nccl`` on CUDA, each process on GPU ``LOCAL_RANK``; ``gloo`` on
CPU) and says which rank this process is. Without those variables (a plain ``geocolor train``) it
returns rank 0 of 1 and nothing here talks to other processes.

Conventions the trainer keeps: every rank draws its own chips (seed + rank) with the config's
``batch_size`` (so a step sees ``batch_size * world`` chips); DDP averages the gradients, so all ranks
hold the same weights; only rank 0 writes logs, samples, checkpoints and model files; values that
steer the run (held-out figures, a non-finite loss) are shared so every rank takes the same path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from geocolor.errors import ConfigError


@dataclass(frozen=True)
class Rank:
    """This process's place in the run: ``rank`` of ``world`` processes (``world == 1``: not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def current() -> Rank:
    """The rank of this process in the initialised process group (rank 0 of 1 when there is none)."""
    if not (dist.is_available() and dist.is_initialized()):
        return Rank()
    return Rank(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))


def setup(device: str = "auto") -> tuple[Rank, str, bool]:
    """Join the process group torchrun describes in the environment, if any.

    Returns the rank, the device string to train on (``cuda:LOCAL_RANK`` under nccl) and whether this
    call created the group (then ``shutdown`` should end it).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Rank(), device, False
    if dist.is_initialized():
        return current(), _device_for(current(), device), False
    use_cuda = device != "cpu" and torch.cuda.is_available()
    if device.startswith("cuda") and not use_cuda:
        raise ConfigError("device cuda was asked for, but torch sees no CUDA GPU; use device: cpu")
    dist.init_process_group("nccl" if use_cuda else "gloo")
    rank = current()
    return rank, _device_for(rank, "cuda" if use_cuda else "cpu"), True


def _device_for(rank: Rank, device: str) -> str:
    if device == "cpu" or not torch.cuda.is_available():
        return "cpu"
    torch.cuda.set_device(rank.local_rank)
    return f"cuda:{rank.local_rank}"


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def broadcast(obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank (any picklable value); ``obj`` itself when not distributed."""
    if not current().distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order, on every rank."""
    rank = current()
    if not rank.distributed:
        return [obj]
    out: list[Any] = [None] * rank.world
    dist.all_gather_object(out, obj)
    return out


def all_true(flag: bool, device: torch.device) -> bool:
    """Whether ``flag`` holds on every rank (one small all-reduce when distributed)."""
    if not current().distributed:
        return flag
    t = torch.tensor([0.0 if flag else 1.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() == 0.0)
