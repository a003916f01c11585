"""Type aliases shared across geocolor, and the protocols of the rasterio datasets it reads and writes.

rasterio ships no type hints. ``RasterReader`` and ``RasterWriter`` name the part of its
``DatasetReader`` and ``DatasetWriter`` that geocolor uses, so a function that takes an open raster
says so and its use of it is checked. Members whose values are rasterio objects (a CRS, a window,
colour interpretations, mask flags) are ``Any``: those classes have no types either.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, Self, Union

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from affine import Affine

PathLike = Union[str, "os.PathLike[str]"]
FloatArray = npt.NDArray[np.float32]
UInt8Array = npt.NDArray[np.uint8]
BoolArray = npt.NDArray[np.bool_]
ProgressCallback = Callable[[float], None]
CancelCallback = Callable[[], bool]
Bounds = tuple[float, float, float, float]
"""(left, bottom, right, top) in a raster's CRS, as rasterio's ``BoundingBox``."""


class RasterReader(Protocol):
    """An open raster, as ``rasterio.open(path)`` returns it (``geocolor.raster.open_raster``).

    Band indexes are 1-based; windows are ``rasterio.windows.Window``; ``crs`` is a
    ``rasterio.crs.CRS`` or None.
    """

    name: str
    width: int
    height: int
    count: int
    dtypes: tuple[str, ...]
    nodata: float | None
    crs: Any
    transform: Affine
    gcps: tuple[list[Any], Any]
    bounds: Bounds
    colorinterp: tuple[Any, ...]
    mask_flag_enums: tuple[list[Any], ...]

    def read(
        self, indexes: int | Sequence[int] | None = None, *, window: Any = None, out_shape: tuple[int, ...] | None = None,
        masked: bool = False, resampling: Any = ...,
    ) -> np.ndarray: ...

    def read_masks(self, indexes: int | Sequence[int] | None = None, *, window: Any = None, out_shape: tuple[int, ...] | None = None) -> np.ndarray: ...

    def dataset_mask(self, *, window: Any = None, out_shape: tuple[int, ...] | None = None) -> np.ndarray: ...

    def window(self, left: float, bottom: float, right: float, top: float) -> Any: ...

    def tags(self, bidx: int = 0) -> dict[str, str]: ...

    def colormap(self, bidx: int) -> dict[int, tuple[int, ...]]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class RasterWriter(Protocol):
    """A raster open for writing, as ``rasterio.open(path, "w", ...)`` returns it (``geocolor.raster.create_raw``)."""

    name: str
    width: int
    height: int
    count: int
    gcps: tuple[list[Any], Any]
    colorinterp: tuple[Any, ...]

    def write(self, arr: np.ndarray, indexes: int | Sequence[int] | None = None, window: Any = None) -> None: ...

    def write_mask(self, mask_array: np.ndarray, window: Any = None) -> None: ...

    def update_tags(self, **tags: str) -> None: ...

    def set_band_description(self, bidx: int, value: str) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...
