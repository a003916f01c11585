"""The trainable models by name (``model.model`` in a config): ``MODELS[name]`` is a ``TrainableModel`` class.

Built-in models are named here by module and class and imported on first use, so reading a config
imports no network code. A new model is one class (a ``TrainableModel`` subclass, in its own file)
and one line::

    MODELS.register("mymodel", MyModel)          # or, for a built-in: a line in BUILTIN below
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from geocolor.errors import ConfigError

if TYPE_CHECKING:
    from geocolor.train.base import TrainableModel

BUILTIN: dict[str, str] = {
    "pix2pix": "geocolor.train.pix2pix:Pix2Pix",
    "cyclegan": "geocolor.train.cyclegan:CycleGAN",
    "stylecolor": "geocolor.train.stylecolor:StyleColor",
    "inpaint": "geocolor.train.inpaint:Inpaint",  # hole filling; brings its own trainer (``make_trainer``)
    "cut": "geocolor.train.cut:CUT",
    "fastcut": "geocolor.train.cut:CUT",
    "bicyclegan": "geocolor.train.bicyclegan:BicycleGAN",
}


class ModelRegistry(Mapping[str, "type[TrainableModel]"]):
    """Name -> model class; built-ins load lazily, ``register`` adds one."""

    def __init__(self, builtin: dict[str, str]) -> None:
        self._paths = dict(builtin)
        self._classes: dict[str, type[TrainableModel]] = {}

    def register(self, name: str, cls: type[TrainableModel]) -> None:
        from geocolor.train.base import TrainableModel

        if not (isinstance(cls, type) and issubclass(cls, TrainableModel)):
            raise TypeError(f"{cls!r} is not a TrainableModel subclass")
        if name in self._paths or name in self._classes:
            raise ValueError(f"a model named {name!r} is already registered")
        self._classes[name] = cls

    def unregister(self, name: str) -> None:
        """Remove a model added with ``register`` (built-ins stay)."""
        if name in self._paths:
            raise ValueError(f"{name!r} is a built-in model")
        self._classes.pop(name, None)

    def __getitem__(self, name: str) -> type[TrainableModel]:
        if name not in self._classes:
            if name not in self._paths:
                raise KeyError(name)
            module, _, attr = self._paths[name].partition(":")
            self._classes[name] = getattr(importlib.import_module(module), attr)
        return self._classes[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._paths
        yield from (n for n in self._classes if n not in self._paths)

    def __len__(self) -> int:
        return len(set(self._paths) | set(self._classes))

    def __contains__(self, name: object) -> bool:
        return name in self._paths or name in self._classes

    def get_class(self, name: str) -> type[TrainableModel]:
        """The class of ``name``, or a one-line ``ConfigError`` listing the models."""
        if name not in self:
            raise ConfigError(f"unknown model.model {name!r}; choose one of {', '.join(self)}")
        return self[name]


MODELS = ModelRegistry(BUILTIN)
