"""Run by ``torchrun`` in ``test_ddp.py``: train a config, then save this rank's parameters.

    torchrun --standalone --nproc_per_node 2 tests/train/ddp_worker.py CONFIG OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from geocolor.train.config import load_config
from geocolor.train.trainer import Trainer

if __name__ == "__main__":
    cfg = load_config(sys.argv[1])
    trainer = Trainer(cfg, show_progress=False)
    trainer.run()
    params = {f"{net}.{k}": v.detach().clone() for net in ("G", "D") for k, v in getattr(trainer.model, net).named_parameters()}
    torch.save(params, Path(sys.argv[2]) / f"rank{dist.get_rank()}.pt")
    dist.barrier()
    dist.destroy_process_group()
