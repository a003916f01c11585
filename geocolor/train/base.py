"""The base of every trainable model: declared networks and optimisers, options, precision, hooks.

A model subclasses ``TrainableModel``, says what it is with class attributes, builds its networks
with ``add_network`` (initialised, on the device, in the configured memory layout, DDP-wrapped and
compiled as the config says) and implements ``train_step``. Everything else has a default:

- ``Options``: the dataclass of the model's own options (``model.options:`` in a config), parsed by
  ``geocolor.configs``; ``validate(cfg, options)`` refuses what cannot train, in one line.
- ``networks`` / ``optimisers`` / ``schedulers``: attribute names; ``state_dict`` and
  ``load_state_dict`` (checkpoints) are derived from them, plus ``extra_state`` for anything else.
- ``unpaired``: the trainer draws inputs and targets from different chips (CycleGAN, CUT).
- ``warm_startable`` / ``task``: ``model.init_from`` loads a model file of that task into ``G``.
- ``supports_ddp``: several torchrun processes; AMP, channels_last and torch.compile work for every
  model (its forward passes run inside ``self.precision.autocast()``, its backward passes and
  optimiser steps go through ``self.precision``).
- hooks: ``attach_data`` (see the training data once), ``on_evaluation`` (plateau schedulers),
  ``extra_metadata`` (model file sections), ``adversarial_balance`` (the trainer's warning when the
  discriminator wins), ``make_trainer`` (a model with its own evaluation, like inpaint).

``.G`` is the generator the trainer evaluates and exports, ``.arch`` its architecture dict and
``.encoding`` how chips become tensors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from geocolor.configs import build
from geocolor.errors import ConfigError
from geocolor.models.init import init_weights
from geocolor.models.losses import D_LOSS_WEIGHT, GAN_LOSSES, gradient_penalty
from geocolor.train.config import TrainConfig
from geocolor.train.precision import Precision, Prepared, prepare
from geocolor.train.schedules import current_lr, make_scheduler, steps_per_iteration

if TYPE_CHECKING:
    from geocolor.train.trainer import Trainer

log = logging.getLogger(__name__)


@dataclass
class NoOptions:
    """A model without options of its own."""


class TrainableModel:
    """See the module docstring."""

    Options: ClassVar[type] = NoOptions
    unpaired: ClassVar[bool] = False
    supports_ddp: ClassVar[bool] = True
    warm_startable: ClassVar[bool] = False
    chroma_penalty: ClassVar[bool] = False  # the generator loss honours loss.lambda_chroma
    task: ClassVar[str] = "colorize"
    networks: ClassVar[tuple[str, ...]] = ("G", "D")
    optimisers: ClassVar[tuple[str, ...]] = ("opt_G", "opt_D")
    schedulers: ClassVar[tuple[str, ...]] = ("sched_G", "sched_D")

    G: nn.Module
    arch: dict[str, Any]
    encoding: Any

    def __init__(self, cfg: TrainConfig, device: torch.device) -> None:
        self.cfg = cfg
        self.device = device
        self.options: Any = self.parse_options(cfg)
        self.validate(cfg, self.options)
        self.precision = Precision.for_config(cfg, device)
        self.nets: dict[str, Prepared] = {}
        self.training_info: dict[str, Any] = {}
        loss = cfg.loss
        self.gan = GAN_LOSSES[loss.gan_mode]
        self.d_weight = D_LOSS_WEIGHT[loss.gan_mode]
        self.lambda_gp = loss.lambda_gp if loss.gan_mode == "wgangp" else None

    # -- what the model is -------------------------------------------------------------------------
    @classmethod
    def parse_options(cls, cfg: TrainConfig) -> Any:
        """``model.options`` as this model's ``Options`` dataclass (a one-line ``ConfigError`` if it does not fit)."""
        options = cfg.model.options
        if not isinstance(options, dict):
            raise ConfigError("model.options must be a mapping")
        return build(cls.Options, dict(options), "model.options")

    @classmethod
    def validate(cls, cfg: TrainConfig, options: Any) -> None:
        """Refuse a config this model cannot train, naming the setting to change (default: accept)."""

    @classmethod
    def check_performance(cls, cfg: TrainConfig, world: int) -> None:
        """Refuse several torchrun processes for a model that cannot run under DDP."""
        if world > 1 and not cls.supports_ddp:
            able = cls._able("supports_ddp")
            raise ConfigError(f"model {cfg.model.model} does not support several torchrun processes yet ({able} do)")

    @staticmethod
    def _able(flag: str) -> str:
        from geocolor.train.registry import MODELS

        return ", ".join(sorted(n for n in MODELS if getattr(MODELS[n], flag)))

    @classmethod
    def make_trainer(cls, cfg: TrainConfig, **kwargs: Any) -> Trainer:
        """The trainer that runs this model (the colorization trainer unless a model brings its own)."""
        from geocolor.train.trainer import Trainer

        return Trainer(cfg, **kwargs)

    # -- building --------------------------------------------------------------------------------
    def add_network(self, name: str, net: nn.Module, init: bool = True) -> nn.Module:
        """Initialise ``net`` (unless ``init`` is false), move it to the device, apply ``cfg.performance``,
        keep it as ``self.<name>`` (plain module) and ``self.nets[name]`` (its training views)."""
        m = self.cfg.model
        if init:
            net = init_weights(net, m.init, m.init_gain)
        prepared = prepare(net.to(self.device), self.cfg, self.device)
        self.nets[name] = prepared
        setattr(self, name, prepared.module)
        return prepared.module

    def warm_start(self, generator: nn.Module) -> None:
        """Load ``model.init_from`` into ``generator`` (before ``add_network``) when the config asks for it."""
        if self.cfg.model.init_from:
            from geocolor.train.warmstart import warm_start

            log.info("warm start: %s", warm_start(generator, self.cfg.model.init_from, task=self.task))

    def make_optimisers(self, generator_params: list[nn.Parameter], discriminator_params: list[nn.Parameter] | None = None) -> None:
        """Adam for the generator side (``opt_G``, ``sched_G``) and, unless ``discriminator_params`` is None,
        the discriminator side (``opt_D``, ``sched_D``), with the config's learning rates and lr policy."""
        o = self.cfg.optim
        self.opt_G = torch.optim.Adam(generator_params, lr=o.lr, betas=(o.beta1, o.beta2))
        self.sched_G = make_scheduler(self.opt_G, self.cfg)
        if discriminator_params is not None:
            self.opt_D = torch.optim.Adam(discriminator_params, lr=o.lr_d or o.lr, betas=(o.beta1, o.beta2))
            self.sched_D = make_scheduler(self.opt_D, self.cfg)

    # -- training --------------------------------------------------------------------------------
    def train_step(self, inp: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """One optimisation step on a batch; returns the logged losses."""
        raise NotImplementedError

    def set_train(self) -> None:
        for name in self.networks:
            getattr(self, name).train()

    def d_loss(self, name: str, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Discriminator ``name``'s weighted loss on real and (detached) fake inputs, plus the WGAN-GP
        penalty when used; and its unweighted ``real`` and ``fake`` terms (and ``gp``) for the log."""
        d = self.nets[name]
        with self.precision.autocast():
            pred_fake, pred_real = d.train(fake.detach()), d.train(real)
        fake_term = self.gan(pred_fake.float(), False, True)
        real_term = self.gan(pred_real.float(), True, True)
        total = self.d_weight * (fake_term + real_term)
        logged = {"real": real_term.item(), "fake": fake_term.item()}
        if self.lambda_gp is not None:
            gp = gradient_penalty(d.module, real.float(), fake.detach().float(), self.lambda_gp)
            total = total + gp
            logged["gp"] = gp.item()
        return total, logged

    def learning_rates(self) -> dict[str, float]:
        """The current learning rates for the loss log: ``lr`` (generator side) and ``lr_d`` (discriminator side)."""
        rates = {"lr": current_lr(self.opt_G)}
        if "opt_D" in self.optimisers:
            rates["lr_d"] = current_lr(self.opt_D)
        return rates

    def step_schedulers(self, names: tuple[str, ...] | None = None) -> None:
        """Advance the per-step learning-rate policies of ``names`` (default: all; the plateau policy
        waits for evaluations). A schedule whose optimiser did not step this time is left alone."""
        for name in self.schedulers if names is None else names:
            sched = getattr(self, name)
            if steps_per_iteration(sched):
                sched.step()

    # -- hooks -----------------------------------------------------------------------------------
    def attach_data(self, data: Any) -> None:
        """Called once with the training data before the first step (default: nothing)."""

    def on_evaluation(self, delta_e: float) -> None:
        """Step the plateau schedulers on the held-out figure (no-op for per-step policies)."""
        for name in self.schedulers:
            sched = getattr(self, name)
            if not steps_per_iteration(sched):
                sched.step(delta_e)

    def extra_metadata(self, data: Any) -> dict[str, Any]:
        """Extra top-level sections for the exported model file (default: none)."""
        return {}

    def adversarial_balance(self, losses: dict[str, float]) -> tuple[float, float] | None:
        """(discriminator loss, generator adversarial loss) of a step, or None when it has no adversary."""
        if "d_real" in losses and "g_gan" in losses:
            return 0.5 * (losses["d_real"] + losses["d_fake"]), losses["g_gan"]
        return None

    # -- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = {name: getattr(self, name).state_dict() for name in (*self.networks, *self.optimisers, *self.schedulers)}
        return {**state, **self.extra_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name in (*self.networks, *self.optimisers, *self.schedulers):
            getattr(self, name).load_state_dict(state[name])
        self.load_extra_state(state)

    def extra_state(self) -> dict[str, Any]:
        """Checkpointed state beyond the declared networks, optimisers and schedulers (default: none)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what ``extra_state`` saved."""
