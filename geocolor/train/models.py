"""The trainable models by name (``model.model`` in a config): each is built as ``MODELS[name](cfg, device)``.

A model holds its networks, optimisers (``opt_G``, ``opt_D``) and schedulers (``sched_G``,
``sched_D``) and offers ``train_step(inp, target) -> dict[str, float]``, ``state_dict`` /
``load_state_dict``, ``.G`` (the gray -> colour generator the trainer evaluates and exports),
``.arch`` (its architecture dict) and ``.encoding``. A model with ``unpaired = True`` gets its
``inp`` and ``target`` from independently drawn chips.
"""

from __future__ import annotations

from geocolor.train.bicyclegan import BicycleGAN
from geocolor.train.cut import CUT
from geocolor.train.cyclegan import CycleGAN
from geocolor.train.inpaint import Inpaint
from geocolor.train.pix2pix import Pix2Pix
from geocolor.train.stylecolor import StyleColor

MODELS: dict[str, type] = {"pix2pix": Pix2Pix, "cyclegan": CycleGAN, "stylecolor": StyleColor}
MODELS["inpaint"] = Inpaint  # hole filling; brings its own trainer (``make_trainer``)
MODELS.update({"cut": CUT, "fastcut": CUT, "bicyclegan": BicycleGAN})
