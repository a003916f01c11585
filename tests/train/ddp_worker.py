"""Run by ``torchrun`` in ``test_ddp.py``: train each config in turn, saving this rank's parameters after each.

    torchrun --standalone --nproc_per_node 2 tests/train/ddp_worker.py OUT_DIR CONFIG...

The process group is created here, once, so that the trainers join it rather than own it: one launch of
two processes trains every model. Each config's parameters go to ``OUT_DIR/<config stem>/rank<r>.pt``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist

from geocolor.train.config import load_config
from geocolor.train.registry import MODELS

if __name__ == "__main__":
    dist.init_process_group("gloo")
    out_root = Path(sys.argv[1])
    for config in sys.argv[2:]:
        cfg = load_config(config)
        trainer = MODELS[cfg.model.model].make_trainer(cfg, show_progress=False)  # inpaint brings its own trainer
        trainer.run()
        nets = trainer.model.nets  # name -> Prepared (see geocolor.train.precision)
        params = {f"{name}.{k}": v.detach().clone() for name, net in nets.items() for k, v in net.module.named_parameters()}
        table = getattr(trainer.model, "named_table", None)  # stylecolor's learned named codes, outside the networks
        if table is not None:
            params["named_table.codes"] = table.detach().clone()
        out = out_root / Path(config).stem
        if dist.get_rank() == 0:
            out.mkdir(parents=True, exist_ok=True)
        dist.barrier()
        torch.save(params, out / f"rank{dist.get_rank()}.pt")
        dist.barrier()
    dist.destroy_process_group()
