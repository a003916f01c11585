"""The trainer's guards: a non-finite loss stops the run keeping the last good checkpoint; a winning
discriminator is warned about; ``tensorboard: true`` without tensorboard is one warning line."""

from __future__ import annotations

import logging
import math
import sys
import types

import pytest
import torch

from geocolor.errors import TrainingError
from geocolor.train.config import load_config
from geocolor.train.reports import ScalarLog
from geocolor.train.trainer import Trainer
from tests.train.test_trainer import tiny_config


def test_nan_after_a_checkpoint_keeps_that_checkpoint(tmp_path):
    trainer = Trainer(load_config(tiny_config(tmp_path), ["steps=6", "eval_every=2"]), show_progress=False)
    real_step = trainer.model.train_step

    def step(inp, target):
        losses = real_step(inp, target)
        return {**losses, "g_l1": math.inf} if trainer.step == 2 else losses

    trainer.model.train_step = step
    with pytest.raises(TrainingError, match=r"non-finite loss at step 3 .*checkpoint.pt is kept"):
        trainer.run()
    assert torch.load(trainer.ckpt, weights_only=True)["step"] == 2
    assert not (trainer.dir / "last.pt").exists()  # a broken run exports nothing new


@pytest.mark.parametrize("losses,warnings", [
    ({"d_real": 0.01, "d_fake": 0.02, "g_gan": 5.0, "g_l1": 3.0}, 1),  # D -> 0, G adversarial climbing: warned once
    ({"d_real": 0.6, "d_fake": 0.7, "g_gan": 0.8, "g_l1": 3.0}, 0),  # a balanced game: silent
])
def test_a_winning_discriminator_is_warned_about_once(tmp_path, caplog, losses, warnings):
    trainer = Trainer(load_config(tiny_config(tmp_path), ["steps=8", "eval_every=100"]), show_progress=False)
    trainer.model.train_step = lambda *_: losses
    trainer.evaluate = lambda: None
    with caplog.at_level(logging.WARNING):
        trainer.run()
    assert len([r for r in caplog.records if "discriminator is winning" in r.message]) == warnings


def test_tensorboard_without_tensorboard_is_one_warning(tmp_path, caplog, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails, installed or not
    with caplog.at_level(logging.WARNING):
        log = ScalarLog(tmp_path / "tb")
        log.add("loss", {"g_l1": 1.0}, 1)
        log.close()
    assert [r.message for r in caplog.records if "tensorboard" in r.message][0].startswith("tensorboard: true, but")
    assert not (tmp_path / "tb").exists()


def test_tensorboard_scalars_are_written_when_available(tmp_path, monkeypatch):
    written = []

    class Writer:
        def __init__(self, folder):
            self.folder = folder

        def add_scalar(self, tag, value, step):
            written.append((tag, value, step))

        def close(self):
            written.append("closed")

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=Writer))
    trainer = Trainer(load_config(tiny_config(tmp_path), ["steps=2", "eval_every=2", "tensorboard=true"]), show_progress=False)
    trainer.run()
    tags = {t[0] for t in written if t != "closed"}
    assert {"loss/g_l1", "loss/d_real", "lr/lr", "heldout_model/delta_e2000", "heldout_gray/delta_e2000"} <= tags
    assert written[-1] == "closed"
