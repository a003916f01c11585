"""Typed training configuration, loadable from YAML and overridable with ``key.sub=value`` strings.

A config is a tree of dataclasses; ``load_config(path, overrides)`` reads the YAML, applies the
overrides, checks every key and type (``geocolor.configs``, the parser the dataset configs use too),
and returns a ``TrainConfig``. Unknown keys are errors (a typo must not silently train the wrong model).

``model:`` and ``loss:`` hold what every model shares; what only one model uses lives under
``model.options:`` and is checked against that model's own options dataclass (``Options`` on its
class, e.g. ``CycleGANOptions``). Configs written before ``model.options`` existed still load: their
model-specific keys (``model.pool_size``, ``loss.lambda_a``, the ``inpaint:`` section, ...) are moved
under ``model.options`` (``migrate_legacy``, with a warning per key); keys of another model are dropped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geocolor.configs import apply_override, build, read_mapping
from geocolor.errors import ConfigError
from geocolor.types import PathLike

log = logging.getLogger(__name__)


@dataclass
class SourceConfig:
    """One colour raster used for training chips."""

    path: str
    bands: list[int] = field(default_factory=lambda: [1, 2, 3])
    weight: float = 1.0
    scales: list[float] = field(default_factory=lambda: [1.0])
    holdout: str = "none"  # "right:0.3", "bottom:0.25", "left:..", "top:..", or "none"
    split: str = "both"  # "both" (train + holdout test), "train" or "test"
    style: str | None = None  # stylecolor: the named style (look) this source's colours stand for
    group: str | None = None  # the catalogue source this file belongs to (reports, provenance)


@dataclass
class DataConfig:
    """Training data: colour rasters (``sources``, split by ``holdout``) or a built dataset folder.

    ``dataset`` is the output folder of ``geocolor dataset``: its train split is sampled, its test
    split (val when there is no test) is the held-out set, and its (possibly film-degraded) gray
    chips are the model's input.
    """

    sources: list[SourceConfig] = field(default_factory=list)
    dataset: str | None = None
    tile: int = 256
    batch_size: int = 8
    gap: int = 16  # pixels between the training area and the held-out area
    augment: bool = True
    # a leave-source-out catalogue (pipelines/quality/catalog.yaml): its train sources are added to
    # ``sources`` at every ground sample distance in ``gsds`` (metres), its val sources are held out
    catalog: str | None = None
    gsds: list[float] = field(default_factory=lambda: [0.1, 0.2, 0.4, 0.8, 1.6, 3.2])
    catalog_skip: list[str] = field(default_factory=list)  # catalogue train sources not to add (listed in ``sources`` instead)
    film_prob: float = 0.0  # chance a training crop's gray input is film-degraded (geocolor.dataset.film)
    # a film model fitted to the photos to colour (JSON of geocolor.dataset.filmfit.FittedFilm, as
    # ``geocolor adapt`` writes it): its tone curve and effects replace the default film model
    film_fit: str | None = None


@dataclass
class ModelConfig:
    """What every model shares; its own options go under ``options`` (see the module docstring)."""

    model: str = "pix2pix"
    generator: str = "unet_256"
    ngf: int = 64
    discriminator: str = "basic"
    ndf: int = 64
    n_layers_d: int = 3
    norm: str = "batch"
    norm_d: str | None = None  # the discriminator's norm; None: same as ``norm``
    spectral_norm: bool = False  # spectral normalisation on every discriminator convolution
    dropout: bool = True
    init: str = "normal"
    init_gain: float = 0.02
    color_space: str = "lab"  # lab: L* -> a*b* (1 -> 2); rgb: gray as 3 channels -> RGB (3 -> 3)
    init_from: str | None = None  # a geocolor model file whose generator weights start the run (warm start)
    options: dict[str, Any] = field(default_factory=dict)  # the model's own options (its ``Options`` dataclass)

    @property
    def discriminator_norm(self) -> str:
        return self.norm_d or self.norm


@dataclass
class LossConfig:
    gan_mode: str = "vanilla"  # vanilla, lsgan, wgangp or hinge
    lambda_l1: float = 100.0  # L1 to the target (paired models)
    lambda_gan: float = 1.0  # weight of the generator's GAN term (pix2pix, stylecolor; 0: L1 only, no discriminator updates)
    lambda_gp: float = 10.0  # WGAN-GP gradient penalty weight
    # pix2pix / stylecolor: weight of the over-colour penalty (``geocolor.models.chroma_loss``), in CIE C*ab
    # units: mean of relu(C_pred - C_true), times ``neutral_weight`` where C_true < ``neutral_chroma``
    lambda_chroma: float = 0.0
    neutral_chroma: float = 10.0
    neutral_weight: float = 4.0


@dataclass
class OptimConfig:
    lr: float = 2e-4
    lr_d: float | None = None  # the discriminator's learning rate (TTUR); None: same as lr
    beta1: float = 0.5
    beta2: float = 0.999
    # linear: constant for decay_start * steps, then linearly to 0; constant; step: times gamma every
    # step_size steps; cosine: half a cosine from lr to 0 over the run; plateau: times plateau_factor
    # when the held-out CIEDE2000 has not improved for plateau_patience evaluations
    policy: str = "linear"
    decay_start: float = 0.5
    step_size: int = 0  # step policy; 0: a quarter of the run
    gamma: float = 0.1
    plateau_factor: float = 0.5
    plateau_patience: int = 2


@dataclass
class PerformanceConfig:
    """How the step runs, not what it learns (see ``geocolor.train.precision``)."""

    amp: str = "off"  # off, bf16 (CUDA or CPU autocast) or fp16 (CUDA only, with a gradient scaler)
    channels_last: bool = False  # NHWC memory layout for the networks and batches (faster convolutions on GPU)
    compile: bool = False  # torch.compile the training forward passes (opt-in; exports stay uncompiled)
    sync_bn: bool = False  # under torchrun with several CUDA processes: batch norm statistics over all ranks


@dataclass
class TrainConfig:
    name: str = "run"
    out_dir: str = "runs"
    steps: int = 1000
    eval_every: int = 200
    log_every: int = 10
    seed: int = 0
    threads: int = 0  # 0: torch default
    device: str = "auto"
    export: str | None = None  # also copy the best model file here
    eval_at_start: bool = False  # also evaluate (and keep as best) the starting weights, before the first step
    # best.pt: the lowest held-out CIEDE2000 among evaluations whose pooled false-colour rate is at most
    # this (None: any); while none is, the lowest false-colour rate
    best_false_colour_max: float | None = None
    # > 0: evaluate, keep and export a moving average of the generator's weights with this decay (e.g. 0.99;
    # geocolor.train.ema); 0: the weights as trained
    ema: float = 0.0
    max_minutes: float = 0.0  # > 0: stop (evaluate, checkpoint, export) before one more step would overrun this much training time, resumes included
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    performance: PerformanceConfig = field(default_factory=PerformanceConfig)
    tensorboard: bool = False  # also write scalars to run_dir/tensorboard when torch.utils.tensorboard imports

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir) / self.name


# model-specific keys of configs written before ``model.options``: (section, key) -> the models that own it
LEGACY_OPTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    **{("model", k): ("cyclegan",) for k in ("pool_size",)},
    **{("loss", k): ("cyclegan",) for k in ("lambda_a", "lambda_b", "lambda_identity")},
    **{("model", k): ("stylecolor",) for k in ("style_other_prob", "style_jitter_prob", "style_named_prob")},
    ("loss", "lambda_style"): ("stylecolor",),
    **{("model", k): ("cut", "fastcut") for k in ("nce_layers", "nce_mlp_dim", "flip_equivariance")},
    **{("loss", k): ("cut", "fastcut") for k in ("lambda_nce", "nce_idt", "nce_t", "num_patches")},
    **{("model", k): ("bicyclegan",) for k in ("nz", "z_position", "encoder", "nef")},
    **{("loss", k): ("bicyclegan",) for k in ("lambda_kl", "lambda_z")},
}


def migrate_legacy(tree: dict[str, Any], overwrite: bool = False) -> list[str]:
    """Move a pre-``model.options`` config's model-specific keys under ``model.options`` (in place).

    Returns one note per key moved or dropped (a key of another model than the configured one is
    dropped: it never had an effect). A key set both ways is an error, unless ``overwrite`` (an
    override given in the old form replaces the file's option).
    """
    notes: list[str] = []
    model = tree.get("model")
    if model is not None and not isinstance(model, dict):
        return notes  # the parser reports the wrong type
    model = dict(model or {})
    name = str(model.get("model", "pix2pix"))
    options = model.get("options", {})
    options = dict(options) if isinstance(options, dict) else options

    def move(key: str, value: Any, where: str, owners: tuple[str, ...]) -> None:
        if name not in owners:
            notes.append(f"{where} is an option of {'/'.join(owners)}, not of {name}: ignored")
            return
        if not isinstance(options, dict):
            return
        if key in options and not overwrite:
            raise ConfigError(f"{where} and model.options.{key} are both set; keep model.options.{key}")
        options[key] = value
        notes.append(f"{where} is now model.options.{key}")

    for (section, key), owners in LEGACY_OPTIONS.items():
        node = tree.get(section)
        if isinstance(node, dict) and key in node:
            node = dict(node) if section != "model" else model
            value = node.pop(key)
            if section != "model":
                tree[section] = node
            move(key, value, f"{section}.{key}", owners)
    legacy_inpaint = tree.pop("inpaint", None)
    if isinstance(legacy_inpaint, dict):
        for key, value in legacy_inpaint.items():
            move(key, value, f"inpaint.{key}", ("inpaint",))
    elif legacy_inpaint is not None:
        raise ConfigError("inpaint must be a mapping (it is now model.options of model inpaint)")
    if notes:
        if options is not None:
            model["options"] = options
        tree["model"] = model
    return notes


def config_from_dict(tree: dict[str, Any], overrides: list[str] | None = None) -> TrainConfig:
    tree = {k: (dict(v) if isinstance(v, dict) else v) for k, v in tree.items()}
    notes = migrate_legacy(tree)
    for o in overrides or []:
        apply_override(tree, o)
    for note in notes + migrate_legacy(tree, overwrite=True):
        log.warning("config: %s", note)
    cfg: TrainConfig = build(TrainConfig, tree)
    validate(cfg)
    return cfg


# what a resumed run may change: how long, how often it reports, where and how fast it runs; anything else
# (data, model, loss, optimiser, seed, checkpoint choice) would make one model from two recipes
RESUMABLE = ("name", "out_dir", "steps", "eval_every", "log_every", "threads", "device", "export", "eval_at_start",
             "max_minutes", "tensorboard", "performance")


def config_changes(before: TrainConfig, after: TrainConfig) -> list[str]:
    """The settings (dotted keys, ``old -> new``) in which ``after`` differs from ``before``, leaving out ``RESUMABLE``."""

    def flat(tree: Any, prefix: str = "") -> dict[str, Any]:
        if isinstance(tree, dict):
            items: dict[str, Any] = {}
            for k, v in tree.items():
                items.update(flat(v, f"{prefix}{k}."))
            return items
        return {prefix[:-1]: tree}

    old, new = (flat({k: v for k, v in config_to_dict(c).items() if k not in RESUMABLE}) for c in (before, after))
    return [f"{k}: {json.dumps(old.get(k), default=str)} -> {json.dumps(new.get(k), default=str)}"
            for k in sorted(old.keys() | new.keys()) if old.get(k) != new.get(k)]


def load_config(path: PathLike, overrides: list[str] | None = None) -> TrainConfig:
    return config_from_dict(read_config_tree(path), overrides)


def read_config_tree(path: PathLike) -> dict[str, Any]:
    """The YAML mapping of a training config file (a pipeline's ``stage:`` key dropped), not yet checked."""
    return read_mapping(Path(path), "config")


LR_POLICIES = ("linear", "constant", "step", "cosine", "plateau")
AMP_MODES = ("off", "bf16", "fp16")


def validate(cfg: TrainConfig) -> None:
    """Refuse configs that cannot train, with one message saying what to change."""
    from geocolor.models.encoding import COLOR_SPACES
    from geocolor.models.generators import tile_multiple
    from geocolor.models.losses import GAN_LOSSES

    if cfg.model.color_space not in COLOR_SPACES:
        raise ConfigError(f"color_space {cfg.model.color_space!r} is not available; use one of {', '.join(COLOR_SPACES)}")
    if cfg.loss.gan_mode not in GAN_LOSSES:
        raise ConfigError(f"unknown loss.gan_mode {cfg.loss.gan_mode!r}; choose one of {', '.join(GAN_LOSSES)}")
    if cfg.loss.gan_mode == "wgangp" and cfg.model.discriminator_norm == "batch":
        raise ConfigError(
            "a WGAN-GP critic must not use batch norm (the gradient penalty is per sample); "
            "set model.norm_d: instance or none (or model.norm)"
        )
    if cfg.optim.policy not in LR_POLICIES:
        raise ConfigError(f"unknown optim.policy {cfg.optim.policy!r}; choose one of {', '.join(LR_POLICIES)}")
    if cfg.data.tile % tile_multiple(cfg.model.generator):
        raise ConfigError(f"data.tile {cfg.data.tile} must be a multiple of {tile_multiple(cfg.model.generator)} for {cfg.model.generator}")
    if not 0.0 <= cfg.data.film_prob <= 1.0:
        raise ConfigError(f"data.film_prob must be in [0, 1], got {cfg.data.film_prob}")
    if cfg.data.film_fit and not Path(cfg.data.film_fit).is_file():
        raise ConfigError(f"data.film_fit {cfg.data.film_fit} is not a file (a fitted film JSON, as geocolor adapt writes)")
    if not 0 <= cfg.ema < 1:
        raise ConfigError(f"ema must be within 0..1 (0: off; e.g. 0.99), got {cfg.ema}")
    if cfg.best_false_colour_max is not None and not 0 <= cfg.best_false_colour_max <= 1:
        raise ConfigError(f"best_false_colour_max must be within 0..1, got {cfg.best_false_colour_max}")
    if not cfg.max_minutes >= 0:
        raise ConfigError(f"max_minutes must be >= 0, got {cfg.max_minutes}")
    if cfg.data.catalog and (not cfg.data.gsds or min(cfg.data.gsds) <= 0):
        raise ConfigError("data.gsds must list positive ground sample distances in metres")
    if not cfg.data.sources and not cfg.data.dataset and not cfg.data.catalog:
        raise ConfigError("no training data: set data.dataset (a geocolor dataset folder) or data.sources (colour rasters)")
    if cfg.steps <= 0 or cfg.data.batch_size <= 0:
        raise ConfigError("steps and data.batch_size must be positive")
    for name, lr in (("optim.lr", cfg.optim.lr), ("optim.lr_d", cfg.optim.lr_d)):
        if lr is not None and not (lr > 0 and lr < float("inf")):
            raise ConfigError(f"{name} must be a positive number, got {lr}")
    for name, width in (("model.ngf", cfg.model.ngf), ("model.ndf", cfg.model.ndf)):
        if not 1 <= width <= 512:
            raise ConfigError(f"{name} must be within 1..512, got {width}")
    if cfg.data.dataset and not Path(cfg.data.dataset).is_dir():
        raise ConfigError(f"data.dataset {cfg.data.dataset} is not a folder (give the output folder of geocolor dataset)")
    if min(cfg.loss.lambda_chroma, cfg.loss.neutral_chroma, cfg.loss.neutral_weight) < 0:
        raise ConfigError("loss.lambda_chroma, loss.neutral_chroma and loss.neutral_weight must be >= 0")
    if cfg.performance.amp not in AMP_MODES:
        raise ConfigError(f"unknown performance.amp {cfg.performance.amp!r}; choose one of {', '.join(AMP_MODES)}")
    _validate_model(cfg)


def _validate_model(cfg: TrainConfig) -> None:
    """The model name, warm start, and the model's own options (checked by the model class)."""
    from geocolor.train.registry import MODELS

    cls = MODELS.get(cfg.model.model)
    if cls is None:
        raise ConfigError(f"unknown model.model {cfg.model.model!r}; choose one of {', '.join(MODELS)}")
    if cfg.model.init_from and not cls.warm_startable:
        able = ", ".join(n for n in MODELS if MODELS[n].warm_startable)
        raise ConfigError(f"model.init_from (warm start) works for {able}, not {cfg.model.model!r}")
    if cfg.loss.lambda_chroma > 0 and not cls.chroma_penalty:
        able = ", ".join(n for n in MODELS if MODELS[n].chroma_penalty)
        raise ConfigError(f"loss.lambda_chroma works for {able}, not {cfg.model.model!r}")
    cls.validate(cfg, cls.parse_options(cfg))


def config_to_dict(cfg: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)
