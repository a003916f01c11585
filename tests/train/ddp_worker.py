"""Run by ``torchrun`` in ``test_ddp.py``: train a config, then save this rank's parameters.

    torchrun --standalone --nproc_per_node 2 tests/train/ddp_worker.py CONFIG OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from geocolor.train.config import load_config
from geocolor.train.registry import MODELS

if __name__ == "__main__":
    cfg = load_config(sys.argv[1])
    trainer = MODELS[cfg.model.model].make_trainer(cfg, show_progress=False)  # inpaint brings its own trainer
    trainer.run()
    nets = trainer.model.nets  # name -> Prepared (see geocolor.train.precision)
    params = {f"{name}.{k}": v.detach().clone() for name, net in nets.items() for k, v in net.module.named_parameters()}
    table = getattr(trainer.model, "named_table", None)  # stylecolor's learned named codes, outside the networks
    if table is not None:
        params["named_table.codes"] = table.detach().clone()
    torch.save(params, Path(sys.argv[2]) / f"rank{dist.get_rank()}.pt")
    dist.barrier()
    dist.destroy_process_group()
