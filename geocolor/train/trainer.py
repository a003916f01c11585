"""The training loop: sample chips, step the model, log, evaluate, checkpoint, export.

A run folder holds ``config.yaml``, ``losses.csv``, ``losses.png``, ``metrics.jsonl``,
``samples/step_XXXXXX.png`` (gray | output | truth on held-out chips), ``checkpoint.pt`` (everything
needed to resume: networks, optimisers, schedulers, the AMP scaler, step, RNG states; written
atomically) and the exported model files ``best.pt`` (lowest held-out CIEDE2000, within ``best_false_colour_max`` when set) and ``last.pt``;
with ``tensorboard: true``, also ``tensorboard/`` event files. Under torchrun (``geocolor.train.distributed``) every rank
trains and only rank 0 writes; the checkpoint then also holds every rank's RNG states.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import math
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from geocolor import __version__
from geocolor.color import gray_to_lightness, lightness_to_gray, rgb_to_lab
from geocolor.errors import ConfigError, TrainingError
from geocolor.files import atomic_path
from geocolor.models.encoding import ColorEncoding
from geocolor.models.generators import tile_multiple
from geocolor.models.io import write_model_file
from geocolor.train import distributed
from geocolor.train.base import TrainableModel
from geocolor.train.config import TrainConfig, config_changes, config_from_dict, config_to_dict
from geocolor.train.data import ChipData
from geocolor.train.ema import WeightAverage
from geocolor.train.evaluation import evaluate_chips, mean_chroma, predict_chips
from geocolor.train.precision import to_layout
from geocolor.train.registry import MODELS
from geocolor.train.reports import ScalarLog, append_csv, plot_losses, save_grid

log = logging.getLogger(__name__)


def batch_to_tensors(
    batch: np.ndarray, device: torch.device, gray: np.ndarray | None = None, encoding: ColorEncoding | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 RGB chips (B, T, T, 3) -> network input and target, encoded for the colour space.

    For ``lab`` (the default) that is normalised L (B, 1, T, T) and a*b* (B, 2, T, T). L comes from
    ``gray`` (B, T, T) uint8 when given (a separate, possibly degraded, input), else from the colour
    chips themselves.
    """
    encoding = encoding or ColorEncoding()
    rgb = torch.from_numpy(np.ascontiguousarray(batch)).to(device).permute(0, 3, 1, 2).float() / 255.0
    lab = rgb_to_lab(rgb, axis=1)
    lum = lab[:, :1]
    if gray is not None:
        lum = gray_to_lightness(torch.from_numpy(np.ascontiguousarray(gray)).to(device).float()[:, None] / 255.0)
    return encoding.encode_input(lum), encoding.encode_target(rgb, lab)


def _atomic_torch_save(obj: Any, path: Path) -> None:
    with atomic_path(path, fsync=True) as tmp:
        torch.save(obj, tmp)


class Trainer:
    """Runs one training config end to end; ``run()`` returns the run folder."""

    def __init__(self, cfg: TrainConfig, resume: bool = False, show_progress: bool = True, overwrite: bool = False) -> None:
        self.cfg = cfg
        self.overwrite = overwrite
        self._d_low_streak = 0  # consecutive logs where the discriminator wins
        self._text_progress: tuple[float, int] | None = None  # (time, step) of the last plain-text progress line
        self.dir = cfg.run_dir
        self.ckpt = self.dir / "checkpoint.pt"
        if self.ckpt.exists() and not resume:
            raise ConfigError(f"{self.dir} already holds a run; pass --resume to continue it or choose another name")
        if resume and not self.ckpt.exists():
            raise ConfigError(f"nothing to resume: {self.ckpt} does not exist")
        if resume:
            check_same_recipe(cfg)
        self.rank, device, self._owns_group = distributed.setup(cfg.device)
        MODELS[cfg.model.model].check_performance(cfg, self.rank.world)
        self.show_progress = show_progress and self.rank.main
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        from geocolor.models.translator import resolve_device

        self.device = resolve_device(device)
        seed = cfg.seed + self.rank.rank  # every rank draws its own chips; DDP starts all from rank 0's weights
        torch.manual_seed(seed)
        self.data = ChipData(cfg.data, seed=seed)
        if not self.data.test_chips:
            log.warning("no held-out chips: set a holdout on at least one source to get evaluation figures")
        self.model: TrainableModel = MODELS[cfg.model.model](cfg, self.device)
        self.model.attach_data(self.data)
        self.ema = WeightAverage(self.model.G, cfg.ema) if cfg.ema > 0 else None  # after any warm start
        if self.rank.main:  # only now: a config the model refuses (amp fp16 on CPU) leaves no folder behind
            self.dir.mkdir(parents=True, exist_ok=True)
            (self.dir / "samples").mkdir(exist_ok=True)
        self.ab_mean = mean_chroma(self.data.chroma_images())
        self.step = 0
        self.seconds = 0.0  # training time spent so far, resumes included (``max_minutes``)
        self.best: float = math.inf
        self.best_eval: dict[str, Any] | None = None
        self.scalars = ScalarLog(self.dir / "tensorboard") if cfg.tensorboard and self.rank.main else None
        if resume:
            self._load_checkpoint()
        elif self.rank.main:
            import yaml

            (self.dir / "config.yaml").write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))

    # -- checkpoints -------------------------------------------------------------------------
    def _rng_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"torch_rng": torch.get_rng_state(), "data_rng": json.dumps(self.data.rng_state())}
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def _save_checkpoint(self) -> None:
        ranks = distributed.gather(self._rng_state())  # a collective: every rank takes part
        if not self.rank.main:
            return
        precision = self.model.precision
        _atomic_torch_save(
            {
                "step": self.step,
                "best": self.best,
                "best_eval": json.dumps(self.best_eval),
                "model": self.model.state_dict(),
                "seconds": self.seconds,
                **ranks[0],
                "rank_rngs": ranks,
                "scaler": precision.state_dict(),
                **({"ema": self.ema.state_dict()} if self.ema is not None else {}),
            },
            self.ckpt,
        )

    def _load_checkpoint(self) -> None:
        import pickle
        import zipfile

        try:
            state = torch.load(self.ckpt, map_location=self.device, weights_only=True)
            self.model.load_state_dict(state["model"])
            self.step = int(state["step"])
            self.best = float(state["best"])
            self.best_eval = json.loads(state["best_eval"])
            self.seconds = float(state.get("seconds", 0.0))
        except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError, KeyError, TypeError,
                ValueError, AttributeError, IndexError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
            raise TrainingError(
                f"cannot resume from {self.ckpt}: it is damaged, from another run or not a geocolor checkpoint ({first}); "
                "move it away to start the run again"
            ) from None
        rngs = state.get("rank_rngs") or [state]
        if len(rngs) != self.rank.world:
            log.warning("the checkpoint was written by %d process(es), this run has %d: chips are drawn afresh", len(rngs), self.rank.world)
        if self.rank.rank < len(rngs):
            mine = rngs[self.rank.rank]
            torch.set_rng_state(mine["torch_rng"].cpu())
            self.data.set_rng_state(json.loads(mine["data_rng"]))
            if "cuda_rng" in mine and self.device.type == "cuda":
                torch.cuda.set_rng_state(mine["cuda_rng"].cpu(), self.device)
        if self.ema is not None:
            if "ema" not in state:
                raise TrainingError(f"cannot resume from {self.ckpt}: it holds no weight average (ema); it was trained without one")
            self.ema.load_state_dict(state["ema"])
        if state.get("scaler"):
            self.model.precision.load_state_dict(state["scaler"])
        log.info("resumed %s at step %d", self.dir, self.step)

    # -- evaluation and export ----------------------------------------------------------------
    def _predict(self, lightness: torch.Tensor) -> torch.Tensor:
        self.model.G.eval()
        encoding = self.model.encoding
        with torch.inference_mode():
            return encoding.decode_chroma(self.model.G(encoding.encode_input(lightness.to(self.device))))

    def evaluate(self) -> dict[str, Any] | None:
        chips = self.data.test_chips
        if not chips:
            return None
        result = evaluate_chips(self._predict, chips, self.ab_mean, self.data.test_grays)
        with (self.dir / "metrics.jsonl").open("a") as f:
            f.write(json.dumps({"step": self.step, **result}) + "\n")
        every = max(1, len(chips) // 6)
        picks = chips[::every][:6]
        grays = self.data.test_grays[::every][:6] if self.data.test_grays else None
        preds = predict_chips(self._predict, picks, grays)
        gray = grays or [np.round(lightness_to_gray(rgb_to_lab(c.astype(np.float32) / 255)[..., 0]) * 255).astype(np.uint8) for c in picks]
        save_grid([[g, p, c] for g, p, c in zip(gray, preds, picks)], self.dir / "samples" / f"step_{self.step:06d}.png")
        return result

    def metadata(self, evaluation: dict[str, Any] | None) -> dict[str, Any]:
        cfg = self.cfg
        return {
            "name": cfg.name,
            "architecture": self.model.arch,
            "color_space": cfg.model.color_space,
            "tile_size": cfg.data.tile,
            "tile_multiple": tile_multiple(cfg.model.generator),
            "normalization": self.model.encoding.normalization(),
            "train_ab_mean": list(self.ab_mean),
            "training": {
                "model": cfg.model.model,
                "steps": self.step,
                "batch_size": cfg.data.batch_size,
                "images_seen": self.step * cfg.data.batch_size * self.rank.world,
                "processes": self.rank.world,
                "amp": cfg.performance.amp,
                "gan_mode": cfg.loss.gan_mode,
                "lambda_l1": cfg.loss.lambda_l1,
                "lambda_gan": cfg.loss.lambda_gan,
                **({"lambda_chroma": cfg.loss.lambda_chroma, "neutral_chroma": cfg.loss.neutral_chroma,
                    "neutral_weight": cfg.loss.neutral_weight} if cfg.loss.lambda_chroma > 0 else {}),
                **self.model.training_info,
                "discriminator": {
                    "name": cfg.model.discriminator,
                    "ndf": cfg.model.ndf,
                    "norm": cfg.model.discriminator_norm,
                    "spectral_norm": cfg.model.spectral_norm,
                },
                "lr_policy": cfg.optim.policy,
                "sources": [
                    {k: (list(v) if isinstance(v, tuple) else v) for k, v in s.items()} for s in self.data.summary
                ],
                "n_test_chips": len(self.data.test_chips),
                **({"catalog": self.data.provenance} if getattr(self.data, "provenance", None) else {}),
                "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "geocolor": __version__,
                "torch": torch.__version__,
                "host": platform.machine(),
            },
            "evaluation": evaluation or {},
            **self.model.extra_metadata(self.data),
        }

    def export(self, path: Path, evaluation: dict[str, Any] | None) -> None:
        write_model_file(path, self.model.G.state_dict(), self.metadata(evaluation))

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> Path:
        from tqdm import tqdm

        cfg = self.cfg
        bar = tqdm(total=cfg.steps, initial=self.step, desc=f"train {cfg.name}", disable=None if self.show_progress else True, unit="step")
        last_eval = None
        started = time.monotonic() - self.seconds
        if cfg.eval_at_start and self.step == 0:
            last_eval = self._evaluate_and_keep_best()
        try:
            while self.step < cfg.steps:
                losses = self.model.train_step(*self._training_batch())
                if self.ema is not None:
                    self.ema.update()
                self._stop_unless_finite(losses)
                self.step += 1
                bar.update(1)
                step_seconds = time.monotonic() - started - self.seconds
                self.seconds += step_seconds
                # stop when one more step would overrun the budget
                over = cfg.max_minutes > 0 and self.seconds + step_seconds > 60.0 * cfg.max_minutes
                out_of_time = cfg.max_minutes > 0 and not distributed.all_true(not over, self.device)  # every rank stops together
                last = self.step == cfg.steps or out_of_time
                if self.step % cfg.log_every == 0 or last:
                    self._log_losses(losses, bar)
                if out_of_time:
                    log.info("the time budget of %.1f min is spent at step %d", cfg.max_minutes, self.step)
                if self.step % cfg.eval_every == 0 or last:
                    last_eval = self._evaluate_and_keep_best()
                    self._save_checkpoint()
                    if self.rank.main and (self.dir / "losses.csv").exists():
                        plot_losses(self.dir / "losses.csv", self.dir / "losses.png")
                if out_of_time:
                    break
        finally:
            bar.close()
            if self.scalars is not None:
                self.scalars.close()
        if self.rank.main:
            self._export_all(last_eval)
        return self.dir

    def _export_all(self, last_eval: dict[str, Any] | None) -> None:
        with self._averaged():
            self.export(self.dir / "last.pt", last_eval)
        if not (self.dir / "best.pt").exists():
            shutil.copyfile(self.dir / "last.pt", self.dir / "best.pt")
        if self.cfg.export:
            self._export_copy(Path(self.cfg.export))

    def _stop_unless_finite(self, losses: dict[str, float]) -> None:
        """A NaN/inf loss on any rank stops every rank; the last checkpoint (written before it) is kept."""
        finite = all(math.isfinite(v) for v in losses.values())
        if distributed.all_true(finite, self.device):
            return
        where = f"({losses})" if not finite else "(on another rank)"
        raise TrainingError(
            f"non-finite loss at step {self.step + 1} {where}; the last good checkpoint {self.ckpt} is kept. "
            "Lower the learning rate or check the data."
        )

    def _log_losses(self, losses: dict[str, float], bar: Any) -> None:
        if not self.rank.main:
            return
        lrs = self.model.learning_rates()
        append_csv(self.dir / "losses.csv", {"step": self.step, **{k: round(v, 5) for k, v in losses.items()}, **lrs})
        bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()})
        self._plain_progress(losses)
        if self.scalars is not None:
            self.scalars.add("loss", losses, self.step)
            self.scalars.add("lr", lrs, self.step)
        self._warn_if_discriminator_wins(losses)

    def _plain_progress(self, losses: dict[str, float], every_s: float = 30.0) -> None:
        """Without a terminal (nohup, a cluster job) the bar is off: print a line every ``every_s`` seconds."""
        if not self.show_progress or sys.stderr.isatty():
            return
        now = time.monotonic()
        if self._text_progress is None:
            self._text_progress = (now, self.step)
            return
        t0, s0 = self._text_progress
        if now - t0 >= every_s or self.step == self.cfg.steps:
            batch = self.cfg.data.batch_size * self.rank.world
            print(progress_line(self.step, self.cfg.steps, losses, now - t0, self.step - s0, batch), file=sys.stderr, flush=True)
            self._text_progress = (now, self.step)

    def _training_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Network input and target; for an unpaired model (CycleGAN) drawn from independent chips."""
        gray, colour = self.data.sample_pairs()
        inp, target = batch_to_tensors(colour, self.device, gray, self.model.encoding)
        if self.model.unpaired:
            _, other = self.data.sample_pairs()
            _, target = batch_to_tensors(other, self.device, None, self.model.encoding)
        return to_layout(inp, self.cfg), to_layout(target, self.cfg)

    def _export_copy(self, target: Path) -> None:
        if target.exists() and not self.overwrite:
            log.warning("not replacing %s with the new model (pass --overwrite); the model is in %s", target, self.dir / "best.pt")
            return
        with atomic_path(target, fsync=True) as tmp:
            shutil.copyfile(self.dir / "best.pt", tmp)

    def _evaluate_and_keep_best(self) -> dict[str, Any] | None:
        """Evaluate (the weight average, with ``ema``) and keep ``best.pt`` (``_score_and_keep_best``)."""
        with self._averaged():
            return self._score_and_keep_best()

    def _averaged(self) -> Any:
        """The generator holds its weight average (``ema``) inside the block; a no-op without one."""
        return self.ema.applied() if self.ema is not None else contextlib.nullcontext()

    def _score_and_keep_best(self) -> dict[str, Any] | None:
        """Rank 0 evaluates; every rank gets the figures (plateau schedulers and ``best`` stay in step)."""
        result = distributed.broadcast(self.evaluate() if self.rank.main else None)
        if result is not None:
            m = result["model"]
            if self.scalars is not None:
                for kind in ("model", "gray", "mean_color"):
                    self.scalars.add(f"heldout_{kind}", result[kind], self.step)
            log.info(
                "step %d: PSNR %.2f SSIM %.3f dE %.2f false colour %.1f %% (gray dE %.2f, mean-colour dE %.2f)",
                self.step, m["psnr"], m["ssim"], m["delta_e2000"], 100 * m.get("false_colour", 0.0),
                result["gray"]["delta_e2000"], result["mean_color"]["delta_e2000"],
            )
            self.model.on_evaluation(m["delta_e2000"])
            score = selection_score(m, self.cfg.best_false_colour_max)
            if score < self.best:
                self.best = score
                self.best_eval = result
                if self.rank.main:
                    self.export(self.dir / "best.pt", result)
        return result

    def _warn_if_discriminator_wins(self, losses: dict[str, float]) -> None:
        if self.cfg.loss.gan_mode not in ("vanilla", "lsgan"):
            return  # critic scores (WGAN-GP, hinge) are not probabilities: the thresholds mean nothing
        balance = self.model.adversarial_balance(losses)
        if balance is None:
            return
        d, g = balance
        self._d_low_streak = self._d_low_streak + 1 if d < 0.05 and g > 3.0 else 0
        if self._d_low_streak == 5:
            log.warning(
                "the discriminator is winning (D loss %.3f, G adversarial loss %.2f): consider a lower D learning "
                "rate (optim.lr_d), lsgan, or fewer D layers",
                d, g,
            )


FALSE_COLOUR_RANK = 1000.0  # selection scores of evaluations over the false-colour bound start here


def selection_score(heldout: dict[str, float], false_colour_max: float | None) -> float:
    """Lower is better: held-out CIEDE2000, or, over the false-colour bound, ``FALSE_COLOUR_RANK`` plus the rate in %.

    Any evaluation within the bound beats every one over it; among those over it, the least false colour wins.
    """
    fc = heldout.get("false_colour", 0.0)
    if false_colour_max is None or fc <= false_colour_max:
        return float(heldout["delta_e2000"])
    return FALSE_COLOUR_RANK + 100.0 * fc


def progress_line(step: int, total: int, losses: dict[str, float], seconds: float, steps: int, batch: int) -> str:
    """``step 1200/9000  g_l1 4.21 ...  9.8 img/s  ETA 1h 03m`` from the pace of the last ``steps`` steps."""
    rate = steps / seconds if seconds > 0 else 0.0
    eta = (total - step) / rate if rate > 0 else math.inf
    eta_text = "?" if not math.isfinite(eta) else f"{int(eta // 3600)}h {int(eta % 3600 // 60):02d}m"
    figures = "  ".join(f"{k} {v:.3f}" for k, v in losses.items())
    return f"step {step}/{total}  {figures}  {rate * batch:.1f} img/s  ETA {eta_text}"


def check_same_recipe(cfg: TrainConfig) -> None:
    """Refuse, in one line, to continue the run in ``cfg.run_dir`` with a different recipe (``config_changes``):
    its ``config.yaml`` is what it was started with. Changing only the ``RESUMABLE`` settings (steps, minutes,
    threads, device...) is allowed."""
    import yaml

    saved = cfg.run_dir / "config.yaml"
    if not saved.is_file():
        return
    try:
        before = config_from_dict(yaml.safe_load(saved.read_text()))
    except (ConfigError, yaml.YAMLError, TypeError, ValueError, AttributeError) as e:
        log.warning("cannot read %s to compare recipes (%s); resuming anyway", saved, str(e).splitlines()[0][:120])
        return
    changes = config_changes(before, cfg)
    if changes:
        more = f" and {len(changes) - 3} more" if len(changes) > 3 else ""
        raise ConfigError(f"{cfg.run_dir} was trained with another recipe ({'; '.join(changes[:3])}{more}); "
                          "choose another name (or output folder), or move that folder away to start again")


def train(cfg: TrainConfig, resume: bool = False, show_progress: bool = True, overwrite: bool = False) -> Path:
    """Train a model from a config; return the run folder (holds best.pt and last.pt).

    ``cfg.export`` (if set) receives a copy of best.pt; an existing file there is replaced only with
    ``overwrite``.
    """
    trainer = MODELS[cfg.model.model].make_trainer(cfg, resume=resume, show_progress=show_progress, overwrite=overwrite)
    try:
        return trainer.run()
    finally:
        if trainer._owns_group:
            distributed.shutdown()
