"""The trainable models by name: ``MODELS`` is the registry of ``geocolor.train.registry`` (kept here
for the import path ``geocolor.train.models.MODELS``)."""

from __future__ import annotations

from geocolor.train.registry import MODELS

__all__ = ["MODELS"]
