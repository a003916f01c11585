"""Typed training configuration, loadable from YAML and overridable with ``key.sub=value`` strings.

A config is a tree of dataclasses; ``load_config(path, overrides)`` reads the YAML, applies the
overrides, checks every key and type, and returns a ``TrainConfig``. Unknown keys are errors (a typo
must not silently train the wrong model).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geocolor.errors import ConfigError
from geocolor.types import PathLike


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


@dataclass
class ModelConfig:
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
    pool_size: int = 50  # cyclegan: fakes kept for the discriminator updates (0: no history)
    style_other_prob: float = 0.5  # stylecolor: chance the style reference is another crop, not the target itself
    style_jitter_prob: float = 0.5  # stylecolor: chance a sample gets a random palette (target and reference alike)
    style_named_prob: float = 0.0  # stylecolor: chance a sample of a named source is conditioned on its name's learned code
    # cut / fastcut: generator layers whose features PatchNCE compares (resnet: indices into its layer
    # list up to the last residual block, CUT's "0,4,8,12,16"; unet: 0 the input, k the k-th
    # down-sampling block); None: the generator's default (see geocolor.train.cut.default_nce_layers)
    nce_layers: list[int] | None = None
    nce_mlp_dim: int = 256  # cut / fastcut: width of the 2-layer MLP projection head per NCE layer
    flip_equivariance: bool | None = None  # cut / fastcut: random horizontal flip equivariance; None: fastcut only
    nz: int = 8  # bicyclegan: latent code length
    z_position: str = "input"  # bicyclegan: where z enters the U-Net: input, all (every down block) or middle (bottleneck)
    encoder: str = "resnet"  # bicyclegan: the latent encoder E, resnet (residual down blocks) or conv
    nef: int | None = None  # bicyclegan: the encoder's base width; None: same as ngf
    init_from: str | None = None  # a geocolor model file whose generator weights start the run (warm start)

    @property
    def discriminator_norm(self) -> str:
        return self.norm_d or self.norm


@dataclass
class LossConfig:
    gan_mode: str = "vanilla"  # vanilla, lsgan, wgangp or hinge
    lambda_l1: float = 100.0
    lambda_gan: float = 1.0  # pix2pix, stylecolor: weight of the generator's GAN term (0: L1 only, no discriminator updates)
    lambda_gp: float = 10.0  # WGAN-GP gradient penalty weight
    lambda_a: float = 10.0  # cyclegan: cycle L1 weight gray -> colour -> gray
    lambda_b: float = 10.0  # cyclegan: cycle L1 weight colour -> gray -> colour
    # cyclegan identity loss, as a fraction of lambda_a / lambda_b; None: 0.5 for rgb (the CycleGAN
    # convention), 0 for lab, where the domains differ in channel count (L* vs a*b*)
    lambda_identity: float | None = None
    lambda_style: float = 10.0  # stylecolor: L1 between the output's style code and the target's
    lambda_nce: float | None = None  # cut / fastcut: PatchNCE weight; None: 1 for cut, 10 for fastcut
    nce_idt: bool | None = None  # cut / fastcut: identity PatchNCE on colour images; None: cut yes, fastcut no
    nce_t: float = 0.07  # cut / fastcut: PatchNCE temperature
    num_patches: int = 256  # cut / fastcut: patches sampled per image and layer
    lambda_kl: float = 0.01  # bicyclegan: KL(E(B) || N(0, I)) weight (cVAE-GAN)
    lambda_z: float = 0.5  # bicyclegan: latent regression L1 |E(G(A, z)) - z| weight (cLR-GAN)


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
class InpaintConfig:
    """The ``inpaint`` model's options (``model.model: inpaint``): image channels, masks, loss weights."""

    channels: int = 1  # 1: gray (historical photos before colorization); 3: colour
    masks: dict[str, float] = field(default_factory=lambda: {"center": 1.0})  # kind -> weight, see geocolor.inpaint.masks
    center_size: int | None = None  # centre-box side in pixels; None: center_fraction of the tile
    center_fraction: float = 0.25
    box_min: int = 16
    box_max: int = 64
    rec_loss: str = "l2"  # l2 (the seed) or l1, over the hole only
    lambda_rec: float = 0.999
    lambda_adv: float = 0.001  # 0: no discriminator updates (reconstruction-only ablation)
    lambda_tv: float = 1e-6


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
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    inpaint: InpaintConfig = field(default_factory=InpaintConfig)
    performance: PerformanceConfig = field(default_factory=PerformanceConfig)
    tensorboard: bool = False  # also write scalars to run_dir/tensorboard when torch.utils.tensorboard imports

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir) / self.name


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping")
        return _build(tp, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list")
        return [_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where)
    if tp is bool:
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return value
    if tp in (int, float, str):
        try:
            return tp(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be {tp.__name__}, got {value!r}") from None
    return value


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(sorted(unknown))} in {where or 'config'}; valid: {', '.join(sorted(names))}")
    kwargs = {k: _coerce(hints[k], v, f"{where}.{k}".lstrip(".")) for k, v in data.items()}
    return cls(**kwargs)


def _apply_override(tree: dict[str, Any], override: str) -> None:
    import yaml

    if "=" not in override:
        raise ConfigError(f"override {override!r} must look like key.sub=value")
    key, raw = override.split("=", 1)
    node = tree
    parts = key.strip().split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: {p} is not a section")
    node[parts[-1]] = yaml.safe_load(raw)


def config_from_dict(tree: dict[str, Any], overrides: list[str] | None = None) -> TrainConfig:
    tree = dict(tree)
    for o in overrides or []:
        _apply_override(tree, o)
    cfg: TrainConfig = _build(TrainConfig, tree, "")
    validate(cfg)
    return cfg


def load_config(path: PathLike, overrides: list[str] | None = None) -> TrainConfig:
    return config_from_dict(read_config_tree(path), overrides)


def read_config_tree(path: PathLike) -> dict[str, Any]:
    """The YAML mapping of a training config file (a pipeline's ``stage:`` key dropped), not yet checked."""
    import yaml

    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}") from None
    try:
        tree = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    tree.pop("stage", None)
    return tree


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
    _validate_model(cfg)
    if cfg.performance.amp not in AMP_MODES:
        raise ConfigError(f"unknown performance.amp {cfg.performance.amp!r}; choose one of {', '.join(AMP_MODES)}")
    _validate_zoo(cfg)


WARM_START_MODELS = ("pix2pix", "stylecolor", "inpaint")  # the models built by Pix2Pix.__init__


def _validate_model(cfg: TrainConfig) -> None:
    """The model name and the options only some models use (cycle and identity weights, image pool)."""
    from geocolor.train.models import MODELS

    if cfg.model.model not in MODELS:
        raise ConfigError(f"unknown model.model {cfg.model.model!r}; choose one of {', '.join(MODELS)}")
    if cfg.model.init_from and cfg.model.model not in WARM_START_MODELS:
        raise ConfigError(
            f"model.init_from (warm start) works for {', '.join(WARM_START_MODELS)}, not {cfg.model.model!r}"
        )
    loss = cfg.loss
    if min(loss.lambda_a, loss.lambda_b, loss.lambda_identity or 0.0) < 0 or cfg.model.pool_size < 0:
        raise ConfigError("loss.lambda_a, loss.lambda_b, loss.lambda_identity and model.pool_size must be >= 0")
    if (loss.lambda_identity or 0.0) > 0 and cfg.model.color_space != "rgb":
        raise ConfigError(
            "the identity loss needs both domains in the same shape, but lab maps L* (1 channel) to a*b* "
            "(2 channels): set model.color_space: rgb, or loss.lambda_identity: 0"
        )


def identity_weight(loss: LossConfig, color_space: str) -> float:
    """The effective ``lambda_identity``: the configured one, else 0.5 for rgb and 0 for lab."""
    if loss.lambda_identity is not None:
        return loss.lambda_identity
    return 0.5 if color_space == "rgb" else 0.0


def config_to_dict(cfg: TrainConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def _validate_zoo(cfg: TrainConfig) -> None:
    """The options of cut / fastcut (PatchNCE) and bicyclegan (latent code); their models check the rest."""
    name = cfg.model.model
    if name in ("cut", "fastcut"):
        from geocolor.train.cut import validate_cut

        validate_cut(cfg)
    elif name == "bicyclegan":
        from geocolor.train.bicyclegan import validate_bicyclegan

        validate_bicyclegan(cfg)
