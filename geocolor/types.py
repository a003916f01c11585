"""Type aliases shared across geocolor."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Union

import numpy as np
import numpy.typing as npt

PathLike = Union[str, "os.PathLike[str]"]
FloatArray = npt.NDArray[np.float32]
UInt8Array = npt.NDArray[np.uint8]
BoolArray = npt.NDArray[np.bool_]
ProgressCallback = Callable[[float], None]
CancelCallback = Callable[[], bool]
