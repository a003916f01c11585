"""Colour historical scans with a model fine-tuned on the modern imagery of their own ground
(``geocolor adapt``); see ``geocolor.adapt.api``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from geocolor.lazy import lazy_exports

if TYPE_CHECKING:
    from geocolor.adapt.api import AdaptOptions, AdaptResult, adapt

__all__ = ["AdaptOptions", "AdaptResult", "adapt"]

_HOMES = {"adapt": "api", "AdaptOptions": "api", "AdaptResult": "api"}
__getattr__ = lazy_exports(__name__, _HOMES)
