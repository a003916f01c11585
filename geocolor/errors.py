"""One root error for geocolor and specific subclasses.

Every error a user can cause (bad input, bad model file, unwritable output) is a ``GeocolorError``
whose message is one line saying what is wrong and what to do next. The CLI turns these into a
non-zero exit and that one line; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class GeocolorError(Exception):
    """Root of all errors geocolor raises on purpose."""


class InputError(GeocolorError, ValueError):
    """The input raster (or other input) cannot be used."""


class OutputExistsError(GeocolorError, FileExistsError):
    """The output exists and ``overwrite`` was not given."""


class GeocolorIOError(GeocolorError, OSError):
    """Reading or writing a file failed."""


class ModelFileError(GeocolorError, ValueError):
    """A model file is missing, corrupt, foreign or unsafe."""


class ConfigError(GeocolorError, ValueError):
    """A configuration file or option is invalid."""


class TrainingError(GeocolorError, RuntimeError):
    """Training cannot go on (NaN losses, no data, ...)."""


class Cancelled(GeocolorError):
    """The caller's ``is_cancelled`` said stop; nothing was written."""


class EngineError(GeocolorError, RuntimeError):
    """No inference engine can run the model here (torch / onnxruntime missing, or the wrong one asked for)."""
