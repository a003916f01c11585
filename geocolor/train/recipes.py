"""Training configs made for a built dataset, so ``geocolor train --data DIR`` needs no hand-written YAML.

The recipe is the shipped default model's (pix2pix, U-Net, L1 100 + GAN, Adam 2e-4, linear decay),
with the tile size taken from the dataset's chips and a generator whose depth fits that size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from geocolor.errors import ConfigError
from geocolor.types import PathLike

DEFAULT_STEPS = 2000


def generator_for(size: int) -> str:
    """The deepest U-Net whose input multiple divides ``size`` (a ResNet generator for small or odd chips)."""
    if size % 256 == 0:
        return "unet_256"
    if size % 128 == 0:
        return "unet_128"
    if size % 4 == 0:
        return "resnet_9blocks"
    raise ConfigError(f"chips of {size} px fit no generator; build the dataset with --size a multiple of 4 (128 or 256 best)")


def chip_size(dataset: PathLike) -> int:
    """The side of the dataset's training chips (``ConfigError`` when it has none)."""
    from geocolor.dataset.loader import PairedChips

    root = Path(dataset)
    if not root.is_dir():
        raise ConfigError(f"--data {root} is not a dataset folder (the output folder of geocolor dataset)")
    chips = PairedChips(root, "train")
    if not len(chips):
        raise ConfigError(f"{root} has no training chips")
    return int(chips[0].color.shape[0])


def dataset_recipe(dataset: PathLike, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A config tree that trains on ``dataset``: ``base`` (or the default recipe) with data, tile and generator set."""
    size = chip_size(dataset)
    tree: dict[str, Any] = dict(base) if base is not None else {
        "name": Path(dataset).resolve().name,
        "steps": DEFAULT_STEPS,
        "eval_every": 200,
        "log_every": 25,
        "model": {"model": "pix2pix", "ngf": 32, "ndf": 32, "norm": "batch", "dropout": True},
        "loss": {"gan_mode": "vanilla", "lambda_l1": 100},
        "optim": {"lr": 2e-4, "beta1": 0.5, "policy": "linear", "decay_start": 0.5},
    }
    tree["data"] = {**{k: v for k, v in (tree.get("data") or {}).items() if k not in ("sources", "catalog")},
                    "dataset": str(dataset), "tile": size}
    model = dict(tree.get("model") or {})
    from geocolor.models.generators import tile_multiple

    if size % tile_multiple(model.get("generator", "unet_256")):
        model["generator"] = generator_for(size)
    tree["model"] = model
    return tree
